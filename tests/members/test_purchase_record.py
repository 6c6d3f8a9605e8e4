from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from members.models import Member, Purchase
from members.services import DuplicateReceipt, member_suspend, purchase_record
from rewards.earning import BasketLine
from rewards.models import EntryKind, LedgerEntry
from tests.factories import StoreFactory, buy
from tests.ledger_checks import assert_ledger_consistent

pytestmark = pytest.mark.django_db


def test_purchase_earns_points_at_the_base_rate(member, store):
    purchase = buy(member, store, "105.00")

    assert purchase.points_earned == 10
    member.refresh_from_db()
    assert member.points_balance == 10
    assert_ledger_consistent(member.pk)


def test_purchase_updates_member_aggregates(member, store):
    first = timezone.now() - timedelta(days=3)
    buy(member, store, "50.00", occurred_at=first)
    buy(member, store, "70.00", occurred_at=first + timedelta(days=1))

    member.refresh_from_db()
    assert member.lifetime_spend == Decimal("120.00")
    assert member.purchase_count == 2
    assert member.first_purchase_at == first
    assert member.last_purchase_at == first + timedelta(days=1)


def test_late_upload_of_an_older_purchase_keeps_last_purchase_date(member, store):
    recent = timezone.now() - timedelta(days=1)
    buy(member, store, "50.00", occurred_at=recent)
    buy(member, store, "50.00", occurred_at=recent - timedelta(days=30))

    member.refresh_from_db()
    assert member.last_purchase_at == recent
    assert member.first_purchase_at == recent - timedelta(days=30)


def test_earn_entry_is_attributed_to_the_store_and_purchase(member, store):
    purchase = buy(member, store, "100.00")

    entry = LedgerEntry.objects.get(member=member)
    assert (entry.kind, entry.points, entry.store, entry.purchase) == (EntryKind.EARN, 10, store, purchase)
    assert entry.expires_at is not None


def test_same_receipt_twice_in_a_store_is_refused_and_writes_nothing(member, store):
    buy(member, store, "100.00", receipt_id="A1")

    with pytest.raises(DuplicateReceipt), transaction.atomic():
        buy(member, store, "100.00", receipt_id="A1")

    assert Purchase.objects.count() == 1
    assert Member.objects.get(pk=member.pk).points_balance == 10


def test_same_receipt_id_in_another_store_is_a_different_purchase(member, store):
    buy(member, store, "100.00", receipt_id="A1")
    buy(member, StoreFactory(), "100.00", receipt_id="A1")

    assert Purchase.objects.filter(member=member).count() == 2


def test_suspended_member_purchase_is_recorded_without_points(member, store):
    member_suspend(member=member, reason="chargeback fraud")

    purchase = buy(member, store, "100.00")

    assert purchase.points_earned == 0
    assert "suspended" in purchase.earn_note
    assert not LedgerEntry.objects.filter(member=member).exists()
    assert Member.objects.get(pk=member.pk).purchase_count == 1


def test_items_not_adding_up_to_total_is_refused(member, store):
    with pytest.raises(DomainError) as err:
        purchase_record(
            member=member,
            store=store,
            receipt_id="X",
            channel="store",
            occurred_at=timezone.now(),
            total=Decimal("100.00"),
            lines=[BasketLine("A", "c", 1, Decimal("50"))],
        )
    assert err.value.code == "total_mismatch"
    assert not Purchase.objects.exists()


def test_foreign_currency_is_refused(member, store):
    with pytest.raises(DomainError) as err:
        buy(member, store, "100.00", currency="USD")
    assert err.value.errors == {"currency": ["Only CNY is accepted."]}


def test_purchase_in_the_future_is_refused(member, store):
    with pytest.raises(DomainError) as err:
        buy(member, store, "100.00", occurred_at=timezone.now() + timedelta(days=3))
    assert err.value.errors == {"occurred_at": ["A purchase cannot be in the future."]}


def test_purchase_five_hours_ahead_is_refused_and_changes_nothing(member, store):
    with pytest.raises(DomainError) as err:
        buy(member, store, "100.00", occurred_at=timezone.now() + timedelta(hours=5))

    assert (err.value.code, err.value.status_code) == ("in_the_future", 400)
    member.refresh_from_db()
    assert (member.points_balance, member.lifetime_spend, member.purchase_count) == (0, 0, 0)
    assert not Purchase.objects.exists()


def test_purchase_within_the_clock_skew_allowance_is_recorded(member, store):
    """A till whose clock runs a few minutes fast still records its sales (default allowance 10 min)."""
    purchase = buy(member, store, "100.00", occurred_at=timezone.now() + timedelta(minutes=9))

    assert purchase.points_earned == 10


def test_clock_skew_allowance_is_a_setting(member, store, settings):
    settings.PURCHASE_CLOCK_SKEW_MINUTES = 0

    with pytest.raises(DomainError) as err:
        buy(member, store, "100.00", occurred_at=timezone.now() + timedelta(minutes=1))

    assert err.value.code == "in_the_future"
