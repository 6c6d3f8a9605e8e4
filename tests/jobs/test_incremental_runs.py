"""Incremental nightly runs: split over the members something may have changed for, and only them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from feedback.models import Feedback
from jobs.incremental import LATE_COMMIT_MARGIN
from jobs.models import RunStatus
from jobs.services import job_run_now
from members.journey import lapse_due_provisional, stage_policy, stage_policy_invalidate
from members.models import LapseState, LoyaltyType, Member, Purchase, Stage, StagePolicy
from members.services import purchase_return
from messaging.models import OutboxMessage
from tests.factories import MemberFactory, buy

# Dates matter here: every test runs at each of the frozen moments (tests/clock.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_dates")]


def _repeat_buyer(store, now, *days_ago):
    member = MemberFactory()
    for days in days_ago:
        buy(member, store, "50.00", occurred_at=now - timedelta(days=days))
    return member


def test_an_incremental_run_is_split_over_its_candidates_only(store, settings, now):
    settings.JOB_CHUNK_SIZE = 2
    sliding = _repeat_buyer(store, now, 300, 200)
    for _ in range(4):
        _repeat_buyer(store, now, 20, 10)
    job_run_now(name="promote_stages", as_of=now)

    run = job_run_now(name="promote_stages", as_of=now + timedelta(days=70)).run

    assert run.chunks_total == 1 and run.chunks.get().member_ids == [sliding.pk]
    assert (run.examined, run.changed) == (1, 1)


def test_a_run_with_nothing_to_examine_has_no_chunks_and_is_done(member, store, now):
    buy(member, store, "50.00")
    job_run_now(name="promote_stages", as_of=now)

    run = job_run_now(name="promote_stages", as_of=now).run

    assert (run.chunks_total, run.status, run.examined) == (0, RunStatus.DONE, 0)


def test_a_purchase_committed_just_after_the_last_run_started_is_not_missed(member, store, now):
    buy(member, store, "50.00")
    buy(member, store, "50.00")
    friend = MemberFactory(referred_by=member)
    previous = job_run_now(name="promote_stages", as_of=now).run
    purchase = buy(friend, store, "20.00")
    # Its transaction began before the run started and committed after the run had looked.
    Purchase.objects.filter(pk=purchase.pk).update(created_at=previous.started_at - LATE_COMMIT_MARGIN / 2)

    job_run_now(name="promote_stages", as_of=now + timedelta(minutes=1))

    assert Member.objects.get(pk=member.pk).stage == Stage.ADVOCATE


# --- lapse ---------------------------------------------------------------------------------


def test_a_purchase_sets_a_provisional_lapse_date(member, store, now):
    buy(member, store, "20.00", occurred_at=now - timedelta(days=3))

    member.refresh_from_db()
    assert member.lapse_due_at == now - timedelta(days=3) + timedelta(days=180)
    assert member.lapse_basis_at is None


def test_a_later_purchase_leaves_the_date_for_the_nightly_run_to_move_on(store, now):
    member = _repeat_buyer(store, now, 179)
    job_run_now(name="detect_lapse", as_of=now)
    buy(member, store, "20.00", occurred_at=now)
    assert Member.objects.get(pk=member.pk).lapse_due_at == now + timedelta(days=1)

    run = job_run_now(name="detect_lapse", as_of=now + timedelta(days=2)).run

    assert (run.examined, run.changed) == (1, 0)
    assert Member.objects.get(pk=member.pk).lapse_due_at == now + timedelta(days=180)


def test_the_nightly_lapse_run_examines_only_members_whose_date_passed(store, now):
    fading = _repeat_buyer(store, now, 179)
    _repeat_buyer(store, now, 1)
    job_run_now(name="detect_lapse", as_of=now)

    run = job_run_now(name="detect_lapse", as_of=now + timedelta(days=2)).run

    assert run.chunks.get().member_ids == [fading.pk]
    assert (run.examined, run.changed) == (1, 1)
    assert Member.objects.get(pk=fading.pk).lapse_state == LapseState.LAPSED


def test_a_slow_buyer_passes_the_provisional_date_and_lapses_at_their_own(store, now):
    slow = _repeat_buyer(store, now, 300, 200, 100)  # median gap 100 days: lapses 300 days after the last
    job_run_now(name="detect_lapse", as_of=now)

    at_provisional = job_run_now(name="detect_lapse", as_of=now + timedelta(days=81)).run
    slow.refresh_from_db()
    at_own_date = job_run_now(name="detect_lapse", as_of=now + timedelta(days=201)).run

    assert (at_provisional.examined, at_provisional.changed) == (1, 0)
    assert slow.lapse_due_at == now - timedelta(days=100) + timedelta(days=300)
    assert at_own_date.changed == 1


def test_a_lapse_date_moved_while_the_job_worked_it_out_is_left_for_the_next_run(store, now):
    slow = _repeat_buyer(store, now, 300, 200, 100)
    job_run_now(name="detect_lapse", as_of=now)
    meanwhile = now + timedelta(days=1)

    def buy_while_the_purchase_gaps_are_read(execute, sql, params, many, context):
        # The job reads the member, then their purchase dates: a till commits a purchase in between.
        if "members_purchase" in sql and sql.lstrip().startswith("SELECT"):
            Member.objects.filter(pk=slow.pk).update(last_purchase_at=meanwhile, lapse_due_at=None)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(buy_while_the_purchase_gaps_are_read):
        job_run_now(name="detect_lapse", as_of=now + timedelta(days=81))

    slow.refresh_from_db()
    assert (slow.last_purchase_at, slow.lapse_due_at, slow.lapse_basis_at) == (meanwhile, None, None)


def test_a_return_puts_the_lapse_date_back_to_provisional(store, now):
    slow = _repeat_buyer(store, now, 300, 200, 100)
    job_run_now(name="detect_lapse", as_of=now + timedelta(days=81))
    purchase = slow.purchases.order_by("occurred_at").first()

    purchase_return(purchase=purchase, store=store, receipt_id="RET-1", amount=Decimal("10.00"))

    slow.refresh_from_db()
    assert slow.lapse_due_at == lapse_due_provisional(slow.last_purchase_at, stage_policy())
    assert slow.lapse_basis_at is None


def test_a_shorter_minimum_in_the_policy_is_applied_to_every_date_by_a_full_run(store, now):
    member = _repeat_buyer(store, now, 100)
    job_run_now(name="detect_lapse", as_of=now)
    StagePolicy.objects.filter(pk=1).update(lapse_min_days=90, updated_at=timezone.now() + timedelta(seconds=1))
    stage_policy_invalidate()

    run = job_run_now(name="detect_lapse", as_of=now + timedelta(minutes=1)).run

    assert run.since is None and run.changed == 1
    assert Member.objects.get(pk=member.pk).lapse_state == LapseState.LAPSED


# --- tiers ---------------------------------------------------------------------------------


def _heading_down(store, now, valid_for_days):
    member = MemberFactory()
    buy(member, store, "2500.00")  # Silver
    purchase_return(purchase=member.purchases.get(), store=store, receipt_id=f"RET-{member.pk}", amount=Decimal(1000))
    Member.objects.filter(pk=member.pk).update(tier_valid_until=now + timedelta(days=valid_for_days))
    return member


def test_a_downgrade_notice_goes_out_when_validity_comes_within_30_days(tiers, store, now):
    member = _heading_down(store, now, valid_for_days=40)
    job_run_now(name="requalify_tiers", as_of=now)
    assert not OutboxMessage.objects.filter(member=member).exists()

    run = job_run_now(name="requalify_tiers", as_of=now + timedelta(days=11)).run

    assert run.chunks.get().member_ids == [member.pk]
    assert OutboxMessage.objects.get(member=member).kind == "tier_downgrade_notice"


def test_a_member_already_within_notice_is_not_examined_again(tiers, store, now):
    _heading_down(store, now, valid_for_days=20)
    job_run_now(name="requalify_tiers", as_of=now)

    run = job_run_now(name="requalify_tiers", as_of=now + timedelta(days=1)).run

    assert run.chunks_total == 0
    assert OutboxMessage.objects.count() == 1


def test_members_whose_validity_ended_are_requalified_by_an_incremental_run(tiers, store, now):
    member = _heading_down(store, now, valid_for_days=5)
    job_run_now(name="requalify_tiers", as_of=now)

    run = job_run_now(name="requalify_tiers", as_of=now + timedelta(days=6)).run

    assert (run.examined, run.changed) == (1, 1)
    assert Member.objects.select_related("tier").get(pk=member.pk).tier.code == "member"


# --- expiry and the grid -------------------------------------------------------------------


def test_expiry_is_split_over_members_holding_due_points_only(store, settings, now):
    settings.JOB_CHUNK_SIZE = 1
    holder, _ = MemberFactory(), MemberFactory()
    buy(holder, store, "50.00")

    nothing_due = job_run_now(name="expire_points", as_of=now).run
    due = job_run_now(name="expire_points", as_of=now + timedelta(days=2 * 366)).run

    assert nothing_due.chunks_total == 0
    assert due.chunks.get().member_ids == [holder.pk] and due.changed == 1


def test_the_next_grid_run_places_only_members_with_news(store, now):
    fan, habit = MemberFactory(), MemberFactory()
    for _ in range(4):
        buy(fan, store, "50.00")
        buy(habit, store, "50.00")
    # Recorded well before the first run: beyond the margin for late commits.
    Purchase.objects.update(created_at=now - LATE_COMMIT_MARGIN * 2)
    job_run_now(name="place_loyalty_grid", as_of=now)
    Feedback.objects.create(member=fan, nps=10, comment="Love it")

    run = job_run_now(name="place_loyalty_grid", as_of=now + timedelta(minutes=1)).run

    assert run.since == now and (run.examined, run.changed) == (1, 1)
    assert Member.objects.get(pk=fan.pk).loyalty_type == LoyaltyType.FANATICAL


def test_the_grid_takes_as_news_only_lapses_it_has_not_seen(store, now):
    lapsed_before, lapsing_later = _repeat_buyer(store, now, 200), _repeat_buyer(store, now, 150)
    Purchase.objects.update(created_at=now - LATE_COMMIT_MARGIN * 2)
    job_run_now(name="detect_lapse", as_of=now)
    job_run_now(name="place_loyalty_grid", as_of=now)
    later = now + timedelta(days=31)
    job_run_now(name="detect_lapse", as_of=later)

    run = job_run_now(name="place_loyalty_grid", as_of=later).run

    assert Member.objects.get(pk=lapsed_before.pk).lapse_state == LapseState.LAPSED
    assert run.chunks.get().member_ids == [lapsing_later.pk]
