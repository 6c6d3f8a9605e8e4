import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from feedback.models import Complaint, Feedback
from loyalty.demo import build_demo
from members.models import Member, Purchase
from tests.ledger_checks import assert_ledger_consistent

pytestmark = pytest.mark.django_db


class _Rollback(Exception):
    pass


def _signature():
    return sorted(Member.objects.values_list("phone", "name", "purchase_count", "lifetime_spend", "points_balance"))


def test_demo_leaves_a_consistent_ledger():
    summary = build_demo(seed=3, members=40, months=6)

    assert summary.members == 40 and summary.purchases == Purchase.objects.count() > 40
    assert Feedback.objects.exists() and Complaint.objects.exists()
    for member_id in Member.objects.values_list("pk", flat=True):
        assert_ledger_consistent(member_id)


def _reset_sequences():
    """Ids feed the holdout hash; a fresh database starts every sequence at the same place."""
    from django.apps import apps
    from django.core.management.color import no_style

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), apps.get_models()):
            cursor.execute(sql)


def test_same_seed_gives_the_same_demo():
    signatures = []
    for _ in range(2):
        _reset_sequences()
        with pytest.raises(_Rollback), transaction.atomic():
            build_demo(seed=5, members=25, months=4)
            signatures.append(_signature())
            raise _Rollback

    assert signatures[0] == signatures[1]


def test_seed_demo_refuses_a_database_with_members(member):
    with pytest.raises(CommandError):
        call_command("seed_demo", "--members", "5")


def test_seed_demo_if_empty_skips_a_database_with_members(member):
    call_command("seed_demo", "--if-empty", "--members", "5")

    assert Member.objects.count() == 1
