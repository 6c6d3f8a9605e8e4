"""A hypothesis state machine over earn / return / redeem / cancel / reward / voucher cancel /
campaign bonus / expire / adjust.

Each step goes the way the API and the jobs go: the POS services get the member's card number
(they resolve and lock it themselves) and the request's unit of work, flushed when the service
returns, as `stores.idempotency.idempotent` does; the campaign bonus is the bulk ledger path a
campaign chunk takes. After every step the ledger invariants hold: balance == sum(entries),
running balances chain, no lot below zero, and the lots hold exactly max(balance, 0).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from core.errors import DomainError
from core.unit_of_work import UnitOfWork
from members.models import Member
from members.services import purchase_record, purchase_return
from rewards.catalog import reward_redeem, voucher_cancel
from rewards.earning import BasketLine
from rewards.ledger import Actor, post_bonus_many
from rewards.models import Redemption, Reward, RewardKind, VoucherStatus
from rewards.services import points_adjust, points_expire, points_redeem, redemption_cancel
from tests.factories import MemberFactory, StoreFactory
from tests.ledger_checks import assert_ledger_consistent

pytestmark = pytest.mark.django_db

amounts = st.decimals(min_value=Decimal("1.00"), max_value=Decimal("2000.00"), places=2)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.store = StoreFactory()
        self.member = MemberFactory()
        self.staff = get_user_model().objects.create_user(username=f"staff{self.member.pk}")
        self.purchases = []
        self.redemptions = []
        self.vouchers = []
        self.reward = Reward.objects.create(name="Mug", kind=RewardKind.FREE_PRODUCT, cost_points=40)
        self.clock = timezone.now() - timedelta(days=900)

    def as_the_api_does(self, service, **arguments):
        """One request: a transaction, the service given the request's unit of work, the flush."""
        with transaction.atomic():
            work = UnitOfWork()
            result = service(**arguments, work=work)
            work.flush()
        return result

    def balance(self) -> int:
        return Member.objects.get(pk=self.member.pk).points_balance

    @rule(total=amounts, days=st.integers(min_value=0, max_value=120))
    def earn(self, total, days):
        self.clock = min(self.clock + timedelta(days=days), timezone.now())
        purchase = self.as_the_api_does(
            purchase_record,
            member=self.member.card_number,
            store=self.store,
            receipt_id=f"P{len(self.purchases)}",
            channel="store",
            occurred_at=self.clock,
            total=total,
            lines=[BasketLine("SKU-1", "general", 1, total)],
        )
        self.purchases.append(purchase)

    @precondition(lambda self: self.purchases)
    @rule(data=st.data())
    def give_back(self, data):
        purchase = data.draw(st.sampled_from(self.purchases))
        purchase.refresh_from_db()
        left = purchase.total - purchase.returned_amount
        if left <= 0:
            return
        amount = data.draw(st.decimals(min_value=Decimal("0.01"), max_value=left, places=2))
        receipt = f"R{purchase.pk}-{left}"
        self.as_the_api_does(purchase_return, purchase=purchase, store=self.store, receipt_id=receipt, amount=amount)

    @rule(share=st.integers(min_value=5, max_value=120))
    def redeem(self, share):
        # A share of the balance, so most redemptions succeed and a few are refused.
        points = max(1, self.balance() * share // 100)
        try:
            self.redemptions.append(
                self.as_the_api_does(
                    points_redeem,
                    member=self.member.card_number,
                    points=points,
                    receipt_id=f"S{len(self.redemptions)}-{points}",
                    store=self.store,
                )
            )
        except DomainError as refused:
            assert refused.code == "insufficient_points" and points > self.balance()

    @precondition(lambda self: self.redemptions)
    @rule(data=st.data())
    def cancel(self, data):
        redemption = data.draw(st.sampled_from(self.redemptions))
        if Redemption.objects.get(pk=redemption.pk).status == "completed":
            self.as_the_api_does(redemption_cancel, redemption=redemption, store=self.store)

    @rule()
    def take_a_reward(self):
        try:
            voucher = self.as_the_api_does(
                reward_redeem, reward=self.reward, member=self.member.card_number, store=self.store
            )
        except DomainError as refused:
            assert refused.code == "insufficient_points" and self.reward.cost_points > self.balance()
        else:
            self.vouchers.append(voucher)

    @precondition(lambda self: self.vouchers)
    @rule(data=st.data())
    def cancel_a_voucher(self, data):
        voucher = data.draw(st.sampled_from(self.vouchers))
        voucher.refresh_from_db()
        if voucher.status == VoucherStatus.ISSUED:
            self.as_the_api_does(voucher_cancel, voucher=voucher, store=self.store)

    @rule(points=st.integers(min_value=1, max_value=500))
    def campaign_bonus(self, points):
        with transaction.atomic():
            work = UnitOfWork()
            post_bonus_many(
                {self.member.pk: points},
                work=work,
                expires_at=self.clock + timedelta(days=365),
                actor=Actor(job="campaign:test"),
                reason="property test campaign",
            )
            work.flush()

    @rule(days=st.integers(min_value=0, max_value=1200))
    def expire(self, days):
        points_expire(
            as_of=self.clock + timedelta(days=days), member_id_from=self.member.pk, member_id_to=self.member.pk + 1
        )

    @rule(points=st.integers(min_value=-300, max_value=300).filter(bool))
    def adjust(self, points):
        try:
            points_adjust(member=self.member, points=points, reason="property test", staff_user=self.staff)
        except DomainError as refused:
            assert refused.code == "insufficient_points" and -points > self.balance()

    @invariant()
    def ledger_is_consistent(self):
        assert_ledger_consistent(self.member.pk)


def test_ledger_invariants_hold_under_any_sequence():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=60,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
