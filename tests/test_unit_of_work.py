"""The unit of work writes what the ORM would, when it is told to, in one round trip."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from core.unit_of_work import UnitOfWork
from members.models import Member, StageChange
from stores.models import IdempotencyRecord
from tests.factories import MemberFactory, StoreFactory

pytestmark = pytest.mark.django_db


def _stored_name(member: Member) -> str:
    return Member.objects.values_list("name", flat=True).get(pk=member.pk)


def test_held_writes_are_not_sent_before_the_flush(django_assert_num_queries):
    member = MemberFactory(name="Before")
    work = UnitOfWork()
    with django_assert_num_queries(0):
        member.name = "After"
        work.save_fields(member, "name")
        work.insert(StageChange(member=member, kind="stage", from_value="a", to_value="b"))

    assert (_stored_name(member), StageChange.objects.count()) == ("Before", 0)


def test_a_flush_sends_every_held_write_in_one_round_trip():
    member = MemberFactory(name="Before", purchase_count=0)
    work = UnitOfWork()
    work.insert(*(StageChange(member=member, kind="stage", from_value="a", to_value=str(i)) for i in range(3)))
    work.update(Member.objects.filter(pk=member.pk), purchase_count=F("purchase_count") + 2)
    member.name = "After"
    work.save_fields(member, "name")

    with CaptureQueriesContext(connection) as queries:
        work.flush()

    member.refresh_from_db()
    assert (len(queries), member.name, member.purchase_count, StageChange.objects.count()) == (1, "After", 2, 3)


def test_saved_fields_of_one_row_make_one_update_with_the_values_at_the_flush():
    member = MemberFactory(name="Before", purchase_count=0)
    work = UnitOfWork()
    work.save_fields(member, "name")
    work.save_fields(member, "purchase_count")
    member.name, member.purchase_count = "Later", 7

    with CaptureQueriesContext(connection) as queries:
        work.flush()

    updates = [q["sql"] for q in queries if "UPDATE" in q["sql"]]
    member.refresh_from_db()
    assert (updates[0].count("UPDATE"), member.name, member.purchase_count) == (1, "Later", 7)


def test_an_insert_returning_its_id_carries_the_held_writes_in_the_same_round_trip():
    member = MemberFactory(name="Before")
    work = UnitOfWork()
    work.insert(StageChange(member=member, kind="stage", from_value="a", to_value="b"))
    record = IdempotencyRecord(store=StoreFactory(), key="K", fingerprint="f", response_body="")

    with CaptureQueriesContext(connection) as queries:
        inserted = work.insert_returning_id(record)

    assert (inserted, len(queries), StageChange.objects.count()) == (True, 1, 1)
    assert IdempotencyRecord.objects.get(pk=record.pk).key == "K"


def test_a_conflicting_row_is_skipped_when_asked_and_the_instance_stays_unsaved():
    store = StoreFactory()
    IdempotencyRecord.objects.create(store=store, key="K", fingerprint="f")
    again = IdempotencyRecord(store=store, key="K", fingerprint="g", response_body="")

    assert (UnitOfWork().insert_returning_id(again, skip_conflicts=True), again.pk) == (False, None)


def test_a_constraint_error_raises_at_the_flush_that_writes_the_row():
    store = StoreFactory()
    IdempotencyRecord.objects.create(store=store, key="K", fingerprint="f")
    work = UnitOfWork()
    work.insert(IdempotencyRecord(store=store, key="K", fingerprint="g", response_body=""))

    with pytest.raises(IntegrityError), transaction.atomic():
        work.flush()


def test_a_read_sees_the_held_writes_sent_in_its_round_trip_but_not_the_saved_fields():
    member = MemberFactory(name="Before", purchase_count=0)
    work = UnitOfWork()
    work.update(Member.objects.filter(pk=member.pk), purchase_count=3)
    member.name = "After"
    work.save_fields(member, "name")

    with CaptureQueriesContext(connection) as queries:
        rows = work.read(Member.objects.filter(pk=member.pk).values("name", "purchase_count"))

    assert (len(queries), rows) == (1, [{"name": "Before", "purchase_count": 3}])


def test_update_rows_writes_each_row_its_own_values_including_nulls(now):
    first, second, untouched = MemberFactory(), MemberFactory(), MemberFactory()
    Member.objects.filter(pk=second.pk).update(lapse_basis_at=now)
    work = UnitOfWork()
    work.update_rows(
        [
            Member(pk=first.pk, lapse_due_at=now + timedelta(days=1), lapse_basis_at=now),
            Member(pk=second.pk, lapse_due_at=now + timedelta(days=2), lapse_basis_at=None),
        ],
        ["lapse_due_at", "lapse_basis_at"],
    )
    work.flush()

    stored = dict(Member.objects.values_list("pk", "lapse_due_at"))
    assert stored == {first.pk: now + timedelta(days=1), second.pk: now + timedelta(days=2), untouched.pk: None}
    assert Member.objects.get(pk=second.pk).lapse_basis_at is None


def test_decimals_and_dates_round_trip_as_the_orm_writes_them(now):
    member = MemberFactory()
    member.lifetime_spend, member.last_purchase_at = Decimal("12.34"), now
    work = UnitOfWork()
    work.save_fields(member, "lifetime_spend", "last_purchase_at")
    work.flush()

    stored = Member.objects.values_list("lifetime_spend", "last_purchase_at").get(pk=member.pk)
    assert stored == (Decimal("12.34"), now)


def test_a_hand_written_statement_takes_its_values_as_parameters_only():
    with pytest.raises(TypeError):
        UnitOfWork().statement("UPDATE members_member SET name = 'x'", "not a list")
