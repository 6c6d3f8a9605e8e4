from decimal import Decimal

import pytest

from core.errors import DomainError, InsufficientPoints
from members.models import Member, Purchase
from members.services import DuplicateReceipt, ReturnItem, purchase_record, purchase_return
from rewards.earning import BasketLine
from rewards.services import points_redeem
from tests.factories import buy
from tests.ledger_checks import assert_ledger_consistent

pytestmark = pytest.mark.django_db


def test_partial_return_takes_back_points_pro_rata(member, store):
    purchase = buy(member, store, "200.00")  # 20 points

    ret = purchase_return(purchase=purchase, store=store, receipt_id="RET1", amount=Decimal("50.00"))

    assert ret.points_reversed == 5
    member.refresh_from_db()
    assert member.points_balance == 15
    assert member.lifetime_spend == Decimal("150.00")
    assert_ledger_consistent(member.pk)


def test_partial_returns_add_up_to_exactly_the_points_earned(member, store):
    purchase = buy(member, store, "100.00")  # 10 points
    for i in range(3):
        purchase_return(purchase=purchase, store=store, receipt_id=f"R{i}", amount=Decimal("33.33"))
    purchase_return(purchase=purchase, store=store, receipt_id="R-last", amount=Decimal("0.01"))

    purchase.refresh_from_db()
    assert purchase.returned_amount == purchase.total
    assert purchase.points_reversed == 10
    assert Member.objects.get(pk=member.pk).points_balance == 0


def test_return_beyond_what_is_left_is_refused_and_writes_nothing(member, store):
    purchase = buy(member, store, "100.00")
    purchase_return(purchase=purchase, store=store, receipt_id="R1", amount=Decimal("60.00"))

    with pytest.raises(DomainError) as err:
        purchase_return(purchase=purchase, store=store, receipt_id="R2", amount=Decimal("40.01"))

    assert err.value.code == "over_return"
    purchase.refresh_from_db()
    assert purchase.returned_amount == Decimal("60.00")
    assert Member.objects.get(pk=member.pk).points_balance == 4


def test_return_by_items_uses_the_purchase_prices(member, store):
    from django.utils import timezone

    purchase = purchase_record(
        member=member,
        store=store,
        receipt_id="B1",
        channel="store",
        occurred_at=timezone.now(),
        total=Decimal("300.00"),
        lines=[BasketLine("CUP", "mugs", 2, Decimal("50")), BasketLine("BEAN", "coffee", 1, Decimal("200"))],
    )

    ret = purchase_return(purchase=purchase, store=store, receipt_id="R1", items=[ReturnItem("CUP", 1)])

    assert ret.amount == Decimal("50.00")
    assert ret.points_reversed == 5


def test_returning_more_items_than_bought_is_refused(member, store):
    purchase = buy(member, store, "100.00")

    with pytest.raises(DomainError) as err:
        purchase_return(purchase=purchase, store=store, receipt_id="R1", items=[ReturnItem("SKU-1", 2)])

    assert "items" in err.value.errors
    assert not purchase.returns.exists()


def test_return_after_points_were_spent_makes_the_balance_negative(member, store):
    purchase = buy(member, store, "100.00")
    points_redeem(member=member, points=10, receipt_id="P1", store=store)

    purchase_return(purchase=purchase, store=store, receipt_id="R1", amount=Decimal("100.00"))

    assert Member.objects.get(pk=member.pk).points_balance == -10
    assert_ledger_consistent(member.pk)


def test_negative_balance_blocks_redemption_until_repaid(member, store):
    purchase = buy(member, store, "100.00")
    points_redeem(member=member, points=10, receipt_id="P1", store=store)
    purchase_return(purchase=purchase, store=store, receipt_id="R1", amount=Decimal("100.00"))

    with pytest.raises(InsufficientPoints):
        points_redeem(member=member, points=1, receipt_id="P2", store=store)
    buy(member, store, "150.00")  # 15 points: 10 repay the debt, 5 usable

    assert Member.objects.get(pk=member.pk).points_balance == 5
    assert_ledger_consistent(member.pk)


def test_duplicate_return_receipt_is_refused(member, store):
    purchase = buy(member, store, "100.00")
    purchase_return(purchase=purchase, store=store, receipt_id="R1", amount=Decimal("10.00"))

    with pytest.raises(DuplicateReceipt):
        purchase_return(purchase=purchase, store=store, receipt_id="R1", amount=Decimal("10.00"))

    assert Purchase.objects.get(pk=purchase.pk).returned_amount == Decimal("10.00")
