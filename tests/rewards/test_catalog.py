from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import InsufficientPoints
from members.models import Member
from members.services import member_suspend
from rewards.catalog import (
    NotEligible,
    OutOfStock,
    VoucherExpired,
    VoucherUsed,
    reward_redeem,
    reward_take_stock,
    rewards_for_member,
    voucher_cancel,
    voucher_consume,
)
from rewards.models import EntryKind, LedgerEntry, Reward, RewardKind, Voucher
from tests.factories import buy
from tests.ledger_checks import assert_ledger_consistent

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial():
    return Reward.objects.create(name="New-roast tasting", kind=RewardKind.EXPERIENCE, cost_points=30, stock=2)


@pytest.fixture
def rich_member(member, store):
    buy(member, store, "1000.00")  # 100 points
    return Member.objects.get(pk=member.pk)


def test_redeeming_a_reward_issues_a_voucher_and_takes_points_and_stock(rich_member, store, trial):
    voucher = reward_redeem(reward=trial, member=rich_member, store=store)

    assert len(voucher.code) == 12 and voucher.code.isalnum()
    assert voucher.expires_at > timezone.now() + timedelta(days=29)
    assert Reward.objects.get(pk=trial.pk).stock == 1
    entry = LedgerEntry.objects.get(voucher=voucher)
    assert (entry.kind, entry.points) == (EntryKind.REDEEM, -30)
    assert assert_ledger_consistent(rich_member.pk) == 70


def test_out_of_stock_is_refused_and_writes_nothing(rich_member, store, trial):
    Reward.objects.filter(pk=trial.pk).update(stock=0)

    with pytest.raises(OutOfStock):
        reward_redeem(reward=trial, member=rich_member, store=store)

    assert not Voucher.objects.exists() and Member.objects.get(pk=rich_member.pk).points_balance == 100


def test_not_enough_points_is_refused(member, store, trial):
    with pytest.raises(InsufficientPoints):
        reward_redeem(reward=trial, member=member, store=store)
    assert Reward.objects.get(pk=trial.pk).stock == 2


def test_tier_and_stage_restrictions(rich_member, store, trial, tiers):
    Reward.objects.filter(pk=trial.pk).update(min_tier=tiers["gold"])
    with pytest.raises(NotEligible):
        reward_redeem(reward=Reward.objects.get(pk=trial.pk), member=rich_member, store=store)
    Reward.objects.filter(pk=trial.pk).update(min_tier=None, stages=["core", "advocate"])
    with pytest.raises(NotEligible):
        reward_redeem(reward=Reward.objects.get(pk=trial.pk), member=rich_member, store=store)


def test_suspended_members_get_no_rewards(rich_member, store, trial):
    member_suspend(member=rich_member, reason="fraud")

    with pytest.raises(Exception, match="suspended"):
        reward_redeem(reward=trial, member=rich_member, store=store)


def test_rewards_for_member_lists_only_what_they_can_redeem(rich_member, trial):
    Reward.objects.create(name="Grinder", kind=RewardKind.FREE_PRODUCT, cost_points=5000)
    Reward.objects.create(name="Sold out", kind=RewardKind.EVENT, cost_points=10, stock=0)
    Reward.objects.create(
        name="Old",
        kind=RewardKind.DISCOUNT,
        value=5,
        cost_points=10,
        available_until=timezone.now() - timedelta(days=1),
    )

    assert [r.name for r in rewards_for_member(member=rich_member)] == ["New-roast tasting"]


def test_a_voucher_is_used_once(rich_member, store, trial):
    voucher = reward_redeem(reward=trial, member=rich_member, store=store)

    voucher_consume(voucher=voucher, store=store, receipt_id="R1")

    with pytest.raises(VoucherUsed):
        voucher_consume(voucher=voucher, store=store, receipt_id="R2")


def test_an_expired_voucher_cannot_be_used(rich_member, store, trial):
    voucher = reward_redeem(reward=trial, member=rich_member, store=store)
    Voucher.objects.filter(pk=voucher.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(VoucherExpired):
        voucher_consume(voucher=voucher, store=store, receipt_id="R1")


def test_cancelling_an_unused_voucher_gives_points_and_stock_back_once(rich_member, store, trial):
    voucher = reward_redeem(reward=trial, member=rich_member, store=store)

    voucher_cancel(voucher=voucher, store=store)

    assert Member.objects.get(pk=rich_member.pk).points_balance == 100
    assert Reward.objects.get(pk=trial.pk).stock == 2
    with pytest.raises(Exception, match="cancelled"):
        voucher_cancel(voucher=voucher, store=store)
    assert assert_ledger_consistent(rich_member.pk) == 100


def test_a_used_voucher_cannot_be_cancelled(rich_member, store, trial):
    voucher = reward_redeem(reward=trial, member=rich_member, store=store)
    voucher_consume(voucher=voucher, store=store, receipt_id="R1")

    with pytest.raises(VoucherUsed):
        voucher_cancel(voucher=voucher, store=store)


def test_taking_more_stock_than_there_is_takes_none(db):
    reward = Reward.objects.create(name="Mug", kind=RewardKind.FREE_PRODUCT, cost_points=10, stock=2)

    with pytest.raises(OutOfStock):
        reward_take_stock(reward, 3)
    reward_take_stock(reward, 2)

    assert Reward.objects.get(pk=reward.pk).stock == 0
