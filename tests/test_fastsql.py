"""The hand-built statements write what the ORM would; batched writes land as if run at once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from loyalty.fastsql import HeldWriteFailed, batched_writes, update_instance, update_many
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


def _rename(member: Member, name: str) -> None:
    member.name = name
    update_instance(member, ["name"])


def _stored_name(member: Member) -> str:
    return Member.objects.values_list("name", flat=True).get(pk=member.pk)


def test_a_batched_write_travels_with_the_next_statement_which_sees_it():
    member = MemberFactory(name="Before")
    with batched_writes(), CaptureQueriesContext(connection) as queries:
        _rename(member, "After")
        held = len(queries)
        seen = _stored_name(member)

    assert (held, seen, len(queries)) == (0, "After", 1)


def test_what_a_batch_still_holds_is_sent_when_the_block_ends():
    member = MemberFactory(name="Before")
    with CaptureQueriesContext(connection) as queries:
        with batched_writes():
            _rename(member, "After")
        assert len(queries) == 1

    assert _stored_name(member) == "After"


def test_a_block_that_raises_still_sends_its_writes_to_the_transaction():
    member = MemberFactory(name="Before")
    with pytest.raises(LookupError), batched_writes():
        _rename(member, "After")
        raise LookupError

    assert _stored_name(member) == "After"


def test_a_held_write_that_breaks_a_constraint_raises_at_the_statement_carrying_it():
    member = MemberFactory()
    member.lifetime_spend = Decimal("-1")
    with pytest.raises(IntegrityError), transaction.atomic(), batched_writes():
        update_instance(member, ["lifetime_spend"])
        Member.objects.filter(pk=member.pk).exists()

    assert Member.objects.get(pk=member.pk).lifetime_spend == 0


def test_held_writes_go_ahead_of_a_server_side_cursor():
    members = [MemberFactory(name="Before") for _ in range(3)]
    with batched_writes():
        for member in members:
            _rename(member, "After")
        names = [m.name for m in Member.objects.filter(pk__in=[m.pk for m in members]).iterator(chunk_size=2)]

    assert names == ["After"] * 3


def test_held_writes_go_ahead_of_an_executemany():
    first, second = MemberFactory(name="A"), MemberFactory(name="B")
    with batched_writes():
        _rename(first, "First")
        with connection.cursor() as cursor:
            cursor.executemany("UPDATE members_member SET email = %s WHERE id = %s", [("x@example.com", second.pk)])

    assert (_stored_name(first), Member.objects.get(pk=second.pk).email) == ("First", "x@example.com")


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_writes_run_at_once():
    member = MemberFactory(name="Before")
    with batched_writes(), CaptureQueriesContext(connection) as queries:
        _rename(member, "After")
        assert len(queries) == 1

    assert _stored_name(member) == "After"


def test_a_held_write_failing_ahead_of_a_savepoint_is_not_taken_for_the_blocks_own_conflict():
    member = MemberFactory()
    member.lifetime_spend = Decimal("-1")
    caught_as_conflict = False
    with pytest.raises(HeldWriteFailed), transaction.atomic(), batched_writes():
        update_instance(member, ["lifetime_spend"])
        try:
            with transaction.atomic():
                MemberFactory()
        except IntegrityError:
            caught_as_conflict = True

    assert not caught_as_conflict
