"""The nightly stage and lapse jobs: time-based moves, idempotent reruns, incremental runs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from feedback.models import Feedback
from jobs.models import ChunkStatus, JobChunk, RunStatus
from jobs.services import job_chunk_run, job_run_now, job_run_start
from members.journey import lapse_detect, stage_policy_invalidate
from members.models import LapseState, Member, Stage, StageChange, StagePolicy
from tests.factories import MemberFactory, buy

# Dates matter here: every test runs at each of the frozen moments (tests/clock.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_dates")]


def test_a_repeat_buyer_falls_back_when_purchases_leave_the_window(member, store, now):
    buy(member, store, "50.00", occurred_at=now - timedelta(days=300))
    buy(member, store, "50.00", occurred_at=now - timedelta(days=200))
    assert Member.objects.get(pk=member.pk).stage == Stage.REPEAT

    summary = job_run_now(name="promote_stages", as_of=now + timedelta(days=100))

    assert summary.run.changed == 1
    change = StageChange.objects.filter(member=member).first()
    assert (change.from_value, change.to_value, change.run) == (Stage.REPEAT, Stage.FIRST_TIME, summary.run)


def test_a_second_run_changes_nothing_and_writes_no_history(member, store, now):
    buy(member, store, "50.00", occurred_at=now - timedelta(days=300))
    buy(member, store, "50.00", occurred_at=now - timedelta(days=200))
    later = now + timedelta(days=100)
    job_run_now(name="promote_stages", as_of=later, full=True)
    history = StageChange.objects.count()

    again = job_run_now(name="promote_stages", as_of=later, full=True)

    assert (again.run.changed, StageChange.objects.count()) == (0, history)


def test_the_next_run_is_incremental_and_still_sees_window_sliding(member, store, now):
    buy(member, store, "50.00", occurred_at=now - timedelta(days=300))
    buy(member, store, "50.00", occurred_at=now - timedelta(days=200))
    first = job_run_now(name="promote_stages", as_of=now)

    second = job_run_now(name="promote_stages", as_of=now + timedelta(days=70))

    assert first.run.since is None
    assert second.run.since == now
    assert (second.run.examined, second.run.changed) == (1, 1)
    assert Member.objects.get(pk=member.pk).stage == Stage.FIRST_TIME


def test_a_policy_edit_forces_a_full_run(member, store, now):
    job_run_now(name="promote_stages", as_of=now)
    StagePolicy.objects.filter(pk=1).update(repeat_min_purchases=3, updated_at=timezone.now() + timedelta(seconds=1))
    stage_policy_invalidate()

    run = job_run_now(name="promote_stages", as_of=now + timedelta(days=1)).run

    assert run.since is None


def test_a_referred_member_buying_makes_the_referrer_an_advocate_at_night(member, store):
    buy(member, store, "50.00")
    buy(member, store, "50.00")
    friend = MemberFactory(referred_by=member)
    job_run_now(name="promote_stages", as_of=timezone.now())
    buy(friend, store, "20.00")

    job_run_now(name="promote_stages", as_of=timezone.now() + timedelta(minutes=1))

    assert Member.objects.get(pk=member.pk).stage == Stage.ADVOCATE
    assert "referred" in StageChange.objects.filter(member=member).first().reason


def test_a_promoter_review_makes_an_advocate_at_night(member, store):
    buy(member, store, "50.00")
    buy(member, store, "50.00")
    job_run_now(name="promote_stages", as_of=timezone.now())
    Feedback.objects.create(member=member, nps=10, comment="Best coffee in town")

    job_run_now(name="promote_stages", as_of=timezone.now() + timedelta(minutes=1))

    assert Member.objects.get(pk=member.pk).stage == Stage.ADVOCATE


def test_jobs_split_members_into_chunks(store, settings, now):
    settings.JOB_CHUNK_SIZE = 2
    members = [MemberFactory() for _ in range(5)]
    for member in members:
        buy(member, store, "10.00", occurred_at=now - timedelta(days=200))

    run = job_run_now(name="promote_stages", as_of=now + timedelta(days=200), full=True).run

    assert run.chunks_total == 3 and run.chunks_done == 3 and run.status == RunStatus.DONE
    assert run.examined == 5


def test_a_chunk_whose_worker_died_is_run_again_without_duplicates(member, store, now):
    buy(member, store, "50.00", occurred_at=now - timedelta(days=300))
    buy(member, store, "50.00", occurred_at=now - timedelta(days=200))
    run, _ = job_run_start(name="promote_stages", as_of=now + timedelta(days=100), full=True)
    chunk = run.chunks.get()
    # A worker claimed the chunk and was killed before its transaction committed.
    JobChunk.objects.filter(pk=chunk.pk).update(status=ChunkStatus.RUNNING, attempts=1)

    assert job_chunk_run(chunk_id=chunk.pk) is True
    assert job_chunk_run(chunk_id=chunk.pk) is False  # redelivered after it finished: skipped

    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.changed) == (RunStatus.DONE, 1, 1)
    assert StageChange.objects.filter(member=member, run=run).count() == 1


def test_run_job_command_prints_a_summary(capsys, member, store):
    from django.core.management import call_command

    call_command("run_job", "promote_stages", "--full")

    out = capsys.readouterr().out
    assert out.startswith("promote_stages: examined 1, changed 0,") and "full" in out


# --- lapse ---------------------------------------------------------------------------------


def _bought_at(member, store, now, *days_ago):
    for days in days_ago:
        buy(member, store, "20.00", occurred_at=now - timedelta(days=days))


def _lapse(member, as_of):
    return lapse_detect(as_of=as_of, member_id_from=member.pk, member_id_to=member.pk + 1)


def test_a_single_purchase_lapses_after_more_than_180_days(member, store, now):
    _bought_at(member, store, now, 0)

    assert _lapse(member, now + timedelta(days=180)).changed == 0
    assert _lapse(member, now + timedelta(days=180, seconds=1)).changed == 1
    assert Member.objects.get(pk=member.pk).lapse_state == LapseState.LAPSED


def test_a_slow_buyer_lapses_after_three_median_gaps(member, store, now):
    _bought_at(member, store, now, 300, 200, 100)  # median gap 100 days: lapsed after 300 days

    assert _lapse(member, now + timedelta(days=200)).changed == 0
    result = _lapse(member, now + timedelta(days=200, seconds=1))

    assert result.changed == 1
    change = StageChange.objects.get(member=member, kind="lapse")
    assert change.figures["threshold_days"] == 300


def test_lapse_detection_twice_changes_nothing(member, store, now):
    _bought_at(member, store, now, 400)
    _lapse(member, now)

    again = _lapse(member, now)

    assert again.changed == 0
    assert StageChange.objects.filter(member=member, kind="lapse").count() == 1


def test_a_won_back_member_is_examined_afresh(member, store, now):
    _bought_at(member, store, now, 400)
    _lapse(member, now)
    buy(member, store, "20.00")

    # Gaps are now one of 400 days: the next lapse comes after 1,200 days.
    assert _lapse(member, now + timedelta(days=1199)).changed == 0
    assert _lapse(member, now + timedelta(days=1201)).changed == 1


def test_members_who_never_bought_do_not_lapse(member, now):
    assert _lapse(member, now + timedelta(days=1000)).changed == 0
