"""The hand-built statements write what the ORM would."""

from datetime import timedelta

import pytest

from loyalty.fastsql import update_many
from members.models import Member
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_update_many_writes_each_row_its_own_values_including_nulls(now):
    first, second, untouched = MemberFactory(), MemberFactory(), MemberFactory()
    Member.objects.filter(pk=second.pk).update(lapse_basis_at=now)
    rows = [
        Member(pk=first.pk, lapse_due_at=now + timedelta(days=1), lapse_basis_at=now),
        Member(pk=second.pk, lapse_due_at=now + timedelta(days=2), lapse_basis_at=None),
    ]

    update_many(rows, ["lapse_due_at", "lapse_basis_at"])

    stored = dict(Member.objects.values_list("pk", "lapse_due_at"))
    assert stored == {first.pk: now + timedelta(days=1), second.pk: now + timedelta(days=2), untouched.pk: None}
    assert Member.objects.get(pk=second.pk).lapse_basis_at is None


def test_update_many_with_no_rows_sends_no_statement(django_assert_num_queries):
    with django_assert_num_queries(0):
        update_many([], ["points_balance"])
