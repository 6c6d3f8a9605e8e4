from decimal import Decimal

import pytest

from core.errors import InsufficientPoints, MemberSuspended
from members.models import Member
from members.services import member_suspend
from rewards.models import EarningPolicy, LedgerEntry, Redemption, RedemptionStatus
from rewards.services import RedemptionAlreadyCancelled, points_redeem, redemption_cancel
from tests.factories import buy
from tests.ledger_checks import assert_ledger_consistent

pytestmark = pytest.mark.django_db


def test_redeem_deducts_points_and_values_them_at_the_policy_rate(member, store):
    EarningPolicy.objects.filter(pk=1).update(point_value=Decimal("0.05"))
    buy(member, store, "1000.00")

    redemption = points_redeem(member=member, points=30, receipt_id="S1", store=store)

    assert redemption.value == Decimal("1.50")
    assert Member.objects.get(pk=member.pk).points_balance == 70
    assert_ledger_consistent(member.pk)


def test_redeem_more_than_the_balance_is_refused_and_writes_nothing(member, store):
    buy(member, store, "100.00")

    with pytest.raises(InsufficientPoints):
        points_redeem(member=member, points=11, receipt_id="S1", store=store)

    assert not Redemption.objects.exists()
    assert LedgerEntry.objects.filter(member=member).count() == 1


def test_redeem_takes_the_oldest_lots_first(member, store):
    from datetime import timedelta

    from django.utils import timezone

    old = buy(member, store, "100.00", occurred_at=timezone.now() - timedelta(days=300))
    new = buy(member, store, "100.00")

    points_redeem(member=member, points=12, receipt_id="S1", store=store)

    old_lot = LedgerEntry.objects.get(purchase=old).lot
    new_lot = LedgerEntry.objects.get(purchase=new).lot
    assert (old_lot.remaining, new_lot.remaining) == (0, 8)


def test_suspended_member_cannot_redeem(member, store):
    buy(member, store, "100.00")
    member_suspend(member=member, reason="abuse")

    with pytest.raises(MemberSuspended):
        points_redeem(member=member, points=5, receipt_id="S1", store=store)


def test_cancel_gives_the_points_back_into_the_same_lots(member, store):
    purchase = buy(member, store, "100.00")
    redemption = points_redeem(member=member, points=7, receipt_id="S1", store=store)

    cancelled = redemption_cancel(redemption=redemption, store=store)

    assert cancelled.status == RedemptionStatus.CANCELLED
    assert LedgerEntry.objects.get(purchase=purchase, kind="earn").lot.remaining == 10
    assert Member.objects.get(pk=member.pk).points_balance == 10
    assert_ledger_consistent(member.pk)


def test_cancel_twice_is_refused(member, store):
    buy(member, store, "100.00")
    redemption = points_redeem(member=member, points=7, receipt_id="S1", store=store)
    redemption_cancel(redemption=redemption, store=store)

    with pytest.raises(RedemptionAlreadyCancelled):
        redemption_cancel(redemption=redemption, store=store)

    assert Member.objects.get(pk=member.pk).points_balance == 10
