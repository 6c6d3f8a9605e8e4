"""Tier upgrades at once, downgrades one step at requalification, pins, and advance notice."""

import calendar
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import DomainError
from jobs.services import job_run_now
from members.models import Member
from members.services import purchase_return
from messaging.models import OutboxMessage
from tests.factories import buy
from tiers.models import TierChange, TierChangeKind
from tiers.services import tier_downgrade_notices, tier_pin, tiers_requalify

# Dates matter here: every test runs at each of the frozen moments (tests/clock.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_dates")]


def same_day_next_year(day: date) -> date:
    """The same local date a year later; 29 February becomes 28 February."""
    return day.replace(year=day.year + 1, day=min(day.day, calendar.monthrange(day.year + 1, day.month)[1]))


def tier_of(member):
    return Member.objects.select_related("tier").get(pk=member.pk).tier.code


def test_a_first_purchase_gives_the_entry_tier(tiers, member, store):
    buy(member, store, "10.00")

    assert tier_of(member) == "member"
    assert TierChange.objects.get(member=member).kind == TierChangeKind.ENROL


def test_the_purchase_that_crosses_a_threshold_upgrades_at_once(tiers, member, store):
    buy(member, store, "1500.00")

    buy(member, store, "500.00")

    member.refresh_from_db()
    assert member.tier.code == "silver"
    assert timezone.localtime(member.tier_valid_until).date() == same_day_next_year(timezone.localdate())
    change = TierChange.objects.filter(member=member).first()
    assert (change.kind, change.qualifying_spend) == (TierChangeKind.UPGRADE, Decimal("2000.00"))


def test_a_big_purchase_can_jump_several_tiers(tiers, member, store):
    buy(member, store, "9000.00")

    assert tier_of(member) == "gold"


def test_spend_older_than_twelve_months_does_not_qualify(tiers, member, store, now):
    buy(member, store, "1500.00", occurred_at=now - timedelta(days=400))

    buy(member, store, "600.00")

    assert tier_of(member) == "member"


def test_the_tier_multiplier_applies_to_later_purchases(tiers, member, store):
    buy(member, store, "2000.00")  # reaches Silver; earned at the Member rate

    purchase = buy(member, store, "100.00")

    assert purchase.points_earned == 12  # 10 x 1.25, rounded down


def _expire_validity(member, tier_code, tiers):
    Member.objects.filter(pk=member.pk).update(
        tier=tiers[tier_code], tier_valid_until=timezone.now() - timedelta(days=1)
    )


def _requalify(member, as_of=None):
    as_of = as_of or timezone.now()
    return tiers_requalify(as_of=as_of, member_id_from=member.pk, member_id_to=member.pk + 1)


def test_requalification_moves_down_one_tier_only(tiers, member, store, now):
    buy(member, store, "100.00")
    _expire_validity(member, "black", tiers)

    result = _requalify(member)

    member.refresh_from_db()
    assert (result.changed, member.tier.code) == (1, "gold")
    change = TierChange.objects.filter(member=member).first()
    assert (change.kind, change.from_tier.code, change.to_tier.code) == (TierChangeKind.DOWNGRADE, "black", "gold")
    assert member.tier_valid_until > now


def test_requalification_renews_a_tier_still_earned(tiers, member, store):
    buy(member, store, "9000.00")
    _expire_validity(member, "gold", tiers)

    _requalify(member)

    member.refresh_from_db()
    assert member.tier.code == "gold"
    assert TierChange.objects.filter(member=member).first().kind == TierChangeKind.RENEW


def test_requalification_counts_spend_net_of_returns(tiers, member, store):
    purchase = buy(member, store, "9000.00")
    purchase_return(purchase=purchase, store=store, receipt_id="R1", amount=Decimal("2000.00"))
    _expire_validity(member, "gold", tiers)

    _requalify(member)

    assert tier_of(member) == "silver"


def test_requalification_twice_changes_nothing(tiers, member, store):
    buy(member, store, "100.00")
    _expire_validity(member, "black", tiers)
    _requalify(member)
    history = TierChange.objects.count()

    assert _requalify(member).examined == 0
    assert TierChange.objects.count() == history


def test_a_pinned_tier_is_kept_until_the_pin_ends(tiers, member, store, staff_user, now):
    buy(member, store, "100.00")
    tier_pin(
        member=member,
        tier=tiers["gold"],
        until=now + timedelta(days=60),
        reason="VIP complaint recovery",
        staff_user=staff_user,
    )

    assert _requalify(member, as_of=now + timedelta(days=59)).examined == 0
    assert tier_of(member) == "gold"
    _requalify(member, as_of=now + timedelta(days=61))
    assert tier_of(member) == "silver"


def test_a_pin_needs_a_reason(tiers, member, staff_user, now):
    with pytest.raises(DomainError):
        tier_pin(member=member, tier=tiers["gold"], until=now + timedelta(days=60), reason="", staff_user=staff_user)


def test_members_heading_for_a_downgrade_are_told_once_30_days_ahead(tiers, member, store, now):
    buy(member, store, "2500.00")  # Silver
    Member.objects.filter(pk=member.pk).update(tier_valid_until=now + timedelta(days=20))
    purchase = member.purchases.get()
    purchase_return(purchase=purchase, store=store, receipt_id="R1", amount=Decimal("1000.00"))

    first = tier_downgrade_notices(as_of=now, member_id_from=member.pk, member_id_to=member.pk + 1)
    second = tier_downgrade_notices(as_of=now + timedelta(days=1), member_id_from=member.pk, member_id_to=member.pk + 1)

    assert (first, second) == (1, 0)
    message = OutboxMessage.objects.get(member=member)
    assert message.kind == "tier_downgrade_notice" and message.language == "zh-hans"
    assert "再消费 ¥500.00 即可保级" in message.body and message.body.endswith("调整为Member。")


def test_members_who_still_qualify_get_no_notice(tiers, member, store, now):
    buy(member, store, "2500.00")
    Member.objects.filter(pk=member.pk).update(tier_valid_until=now + timedelta(days=20))

    assert tier_downgrade_notices(as_of=now, member_id_from=member.pk, member_id_to=member.pk + 1) == 0


def test_the_nightly_job_requalifies(tiers, member, store, now):
    buy(member, store, "100.00")
    _expire_validity(member, "gold", tiers)

    summary = job_run_now(name="requalify_tiers", as_of=now)

    assert (summary.run.examined, summary.run.changed) == (1, 1)
    assert TierChange.objects.filter(member=member).first().run == summary.run


def test_member_api_shows_tier_progress(tiers, api, member):
    buy(member, api.store, "1880.00")

    tier = api.get(f"/api/v1/members/{member.public_id}/").json()["tier"]

    assert tier["code"] == "member" and tier["rank"] == 1
    assert (tier["next_tier"], tier["spend_to_next"]) == ("silver", "120.00")
    assert tier["valid_until"] is not None


def test_member_api_at_the_top_tier_has_no_next(tiers, api, member):
    buy(member, api.store, "25000.00")

    tier = api.get(f"/api/v1/members/{member.public_id}/").json()["tier"]

    assert (tier["code"], tier["next_tier"], tier["spend_to_next"]) == ("black", None, None)
