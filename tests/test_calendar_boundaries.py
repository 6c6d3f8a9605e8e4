"""The business calendar is Shanghai's (UTC+8), while moments are stored in UTC: from 00:00 to
08:00 in Shanghai the UTC date is still the day before. Each test stops the clock at a boundary."""

import pytest

from feedback.models import FollowUpKind, FollowUpOutcome
from feedback.services import follow_up_record
from jobs.services import job_run_now
from members.models import Member
from rewards.earning import earning_setup_invalidate
from rewards.models import EarningPolicy, ExpiryMode, PointsLot
from rewards.services import points_expire
from tests.clock import at, shanghai
from tests.factories import buy
from tiers.models import TierChange, TierChangeKind
from tiers.services import tiers_requalify

pytestmark = pytest.mark.django_db


def expire_at_end_of_following_year():
    EarningPolicy.objects.filter(pk=1).update(expiry_mode=ExpiryMode.END_OF_FOLLOWING_YEAR)
    earning_setup_invalidate()


# --- points expiry -------------------------------------------------------------------------


def test_a_lot_due_on_31_december_expires_at_the_shanghai_day_end_not_the_utc_one(member, store):
    expire_at_end_of_following_year()
    with at(shanghai(2026, 6, 15, 10, 0)):
        buy(member, store, "100.00")
    lot = PointsLot.objects.get(member=member)

    last_moment = points_expire(as_of=shanghai(2027, 12, 31, 23, 59, 59))
    with at(shanghai(2028, 1, 1, 0, 30)):  # 16:30 UTC: in UTC, still 31 December
        nightly = job_run_now(name="expire_points")

    assert lot.expires_at == shanghai(2028, 1, 1, 0, 0)
    assert last_moment.points == 0
    assert (nightly.run.examined, nightly.run.changed) == (1, 1)
    assert Member.objects.get(pk=member.pk).points_balance == 0


def test_a_purchase_at_00_30_on_1_january_counts_in_the_new_year(member, store):
    expire_at_end_of_following_year()

    with at(shanghai(2027, 1, 1, 0, 30)):  # 31 December 16:30 in UTC
        buy(member, store, "100.00", occurred_at=shanghai(2027, 1, 1, 0, 30))

    assert PointsLot.objects.get(member=member).expires_at == shanghai(2029, 1, 1, 0, 0)


def test_rolling_expiry_counts_months_from_the_shanghai_date(member, store):
    EarningPolicy.objects.filter(pk=1).update(expiry_mode=ExpiryMode.ROLLING_MONTHS, expiry_months=1)
    earning_setup_invalidate()

    with at(shanghai(2027, 3, 1, 0, 30)):  # 28 February 16:30 in UTC
        buy(member, store, "100.00", occurred_at=shanghai(2027, 3, 1, 0, 30))

    assert PointsLot.objects.get(member=member).expires_at == shanghai(2027, 4, 1, 0, 30)


# --- tier validity -------------------------------------------------------------------------


def test_a_purchase_at_00_30_on_the_1st_counts_in_the_new_month_for_tier_validity(tiers, member, store):
    with at(shanghai(2027, 3, 1, 0, 30)):  # 28 February 16:30 in UTC
        buy(member, store, "2500.00", occurred_at=shanghai(2027, 3, 1, 0, 30))

    member.refresh_from_db()
    assert member.tier.code == "silver"
    assert member.tier_valid_until == shanghai(2028, 3, 1, 0, 30)


def test_an_upgrade_on_29_february_is_valid_until_28_february(tiers, member, store):
    with at(shanghai(2028, 2, 29, 7, 0)):  # 28 February 23:00 in UTC
        buy(member, store, "2500.00", occurred_at=shanghai(2028, 2, 29, 7, 0))

    member.refresh_from_db()
    assert member.tier_valid_until == shanghai(2029, 2, 28, 7, 0)


def _gold_until(member, tiers, valid_until):
    Member.objects.filter(pk=member.pk).update(tier=tiers["gold"], tier_valid_until=valid_until)


def _requalify(member, as_of):
    with at(as_of):
        return tiers_requalify(as_of=as_of, member_id_from=member.pk, member_id_to=member.pk + 1)


def test_a_tier_valid_until_the_last_day_of_february_is_renewed_to_the_last_day_of_february(tiers, member, store):
    with at(shanghai(2027, 6, 1, 12, 0)):
        buy(member, store, "9000.00")
    _gold_until(member, tiers, shanghai(2028, 2, 29, 7, 0))

    before = _requalify(member, shanghai(2028, 2, 29, 6, 59))
    after = _requalify(member, shanghai(2028, 2, 29, 7, 0))

    member.refresh_from_db()
    assert (before.examined, after.examined) == (0, 1)
    assert TierChange.objects.filter(member=member).first().kind == TierChangeKind.RENEW
    assert member.tier_valid_until == shanghai(2029, 2, 28, 7, 0)


def test_a_tier_valid_until_the_last_day_of_a_month_ends_at_that_moment_in_shanghai(tiers, member, store):
    with at(shanghai(2027, 6, 1, 12, 0)):
        buy(member, store, "100.00")
    _gold_until(member, tiers, shanghai(2028, 4, 30, 23, 30))  # 15:30 UTC

    before = _requalify(member, shanghai(2028, 4, 30, 23, 29))
    after = _requalify(member, shanghai(2028, 4, 30, 23, 30))

    member.refresh_from_db()
    assert (before.examined, after.changed) == (0, 1)
    assert member.tier.code == "silver"
    assert member.tier_valid_until == shanghai(2029, 4, 30, 23, 30)


# --- dates shown to people -----------------------------------------------------------------


def test_a_lot_is_labelled_with_its_shanghai_expiry(member, store):
    with at(shanghai(2027, 3, 1, 0, 30)):  # rolling 24 months: 1 March 2029 00:30, in UTC 28 February
        buy(member, store, "100.00", occurred_at=shanghai(2027, 3, 1, 0, 30))

    assert str(PointsLot.objects.get(member=member)) == "10/10 until 2029-03-01"


def test_a_job_run_is_labelled_with_its_shanghai_time():
    with at(shanghai(2028, 1, 1, 0, 30)):
        run = job_run_now(name="expire_points").run

    assert str(run) == "expire_points as of 2028-01-01 00:30 (done)"


def test_a_follow_up_is_labelled_with_its_shanghai_date(member, staff_user):
    visit = follow_up_record(
        member=member,
        kind=FollowUpKind.VISIT,
        staff_user=staff_user,
        happened_at=shanghai(2027, 3, 1, 7, 0),
        outcome=FollowUpOutcome.REACHED,
    )

    assert str(visit) == f"Visit with {member.pk} on 2027-03-01"
