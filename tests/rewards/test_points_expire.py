from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.services import job_chunk_run, job_run_start
from members.models import Member
from rewards.models import EntryKind, LedgerEntry, PointsLot
from rewards.services import points_expire, points_redeem
from tests.factories import MemberFactory, buy
from tests.ledger_checks import assert_ledger_consistent

# Dates matter here: every test runs at each of the frozen moments (tests/clock.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_dates")]


def test_lots_expire_on_their_date_and_not_before(member, store):
    buy(member, store, "100.00")
    expires_at = PointsLot.objects.get(member=member).expires_at

    assert points_expire(as_of=expires_at - timedelta(seconds=1)).points == 0
    result = points_expire(as_of=expires_at)

    assert (result.members, result.points) == (1, 10)
    entry = LedgerEntry.objects.get(member=member, kind=EntryKind.EXPIRE)
    assert (entry.points, entry.balance_after, entry.job) == (-10, 0, "expire_points")
    assert_ledger_consistent(member.pk)


def test_only_the_unspent_part_of_a_lot_expires(member, store):
    buy(member, store, "100.00")
    points_redeem(member=member, points=4, receipt_id="S", store=store)

    points_expire(as_of=timezone.now() + timedelta(days=3650))

    assert LedgerEntry.objects.get(member=member, kind=EntryKind.EXPIRE).points == -6
    assert Member.objects.get(pk=member.pk).points_balance == 0


def test_expiry_twice_changes_nothing_the_second_time(member, store):
    buy(member, store, "100.00")
    later = timezone.now() + timedelta(days=3650)
    points_expire(as_of=later)

    again = points_expire(as_of=later)

    assert (again.members, again.points) == (0, 0)
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).count() == 1


def test_expiry_is_limited_to_the_member_id_range(store):
    first, second = MemberFactory(), MemberFactory()
    buy(first, store, "100.00")
    buy(second, store, "100.00")

    points_expire(as_of=timezone.now() + timedelta(days=3650), member_id_from=first.pk, member_id_to=first.pk + 1)

    assert Member.objects.get(pk=first.pk).points_balance == 0
    assert Member.objects.get(pk=second.pk).points_balance == 10


def test_old_lots_expire_while_newer_ones_stay(member, store):
    buy(member, store, "100.00", occurred_at=timezone.now() - timedelta(days=800))
    buy(member, store, "50.00")

    points_expire(as_of=timezone.now())

    assert assert_ledger_consistent(member.pk) == 5


def test_expiry_counts_the_members_it_looked_at_apart_from_those_it_changed(store):
    due, later, no_points = MemberFactory(), MemberFactory(), MemberFactory()
    for member in (due, later):
        buy(member, store, "100.00")
    PointsLot.objects.filter(member=later).update(expires_at=timezone.now() + timedelta(days=3650))
    as_of = PointsLot.objects.get(member=due).expires_at

    result = points_expire(as_of=as_of, member_ids=[due.pk, later.pk, no_points.pk])

    assert (result.examined, result.members, result.points) == (3, 1, 10)


def test_the_expiry_job_reports_a_member_with_nothing_left_due_as_examined_not_changed(store):
    due, spent = MemberFactory(), MemberFactory()
    for member in (due, spent):
        buy(member, store, "100.00")
    as_of = max(PointsLot.objects.values_list("expires_at", flat=True))
    run, _ = job_run_start(name="expire_points", as_of=as_of)
    # Between the run's start and its chunk, one of them spends every point at the till.
    points_redeem(member=spent, points=10, receipt_id="S", store=store)

    job_chunk_run(chunk_id=run.chunks.get().pk)

    run.refresh_from_db()
    assert (run.examined, run.changed) == (2, 1)
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).values_list("member_id", flat=True).get() == due.pk
