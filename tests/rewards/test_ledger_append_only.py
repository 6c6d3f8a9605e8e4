import pytest
from django.db import IntegrityError, connection, transaction

from rewards.models import LedgerEntry
from tests.factories import buy

pytestmark = pytest.mark.django_db


def test_database_refuses_to_edit_a_ledger_entry(member, store):
    buy(member, store, "100.00")

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(member=member).update(points=1000)

    assert LedgerEntry.objects.get(member=member).points == 10


def test_database_refuses_to_delete_a_ledger_entry(member, store):
    buy(member, store, "100.00")

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM rewards_ledgerentry WHERE member_id = %s", [member.pk])

    assert LedgerEntry.objects.filter(member=member).count() == 1
