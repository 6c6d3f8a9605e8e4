"""A chunk whose worker died is queued again by the watchdog (beat, every minute) once its claim
is older than JOB_CHUNK_STALE_AFTER, and runs exactly once; a chunk still being worked on is left
alone however long it takes."""

import os
import signal
import time
from datetime import timedelta

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from jobs.models import ChunkStatus, JobChunk, RunStatus
from jobs.services import ChunkRetry, job_chunk_run, job_chunks_requeue_stale, job_run_start
from jobs.tasks import requeue_stale_chunks, start_job
from members.models import Member, Stage, StageChange
from tests.concurrency import hold_member_row, wait_until_held_up_by
from tests.factories import MemberFactory, buy
from tests.jobs.failures import refuse_rows
from tests.jobs.workers import forget_messages, start_worker, stop_worker, wait_for


def _stale_member(member, store):
    buy(member, store, "50.00", occurred_at=timezone.now() - timedelta(days=400))
    Member.objects.filter(pk=member.pk).update(stage=Stage.REPEAT)  # time has moved on


def _claimed_chunk(now):
    run, _ = job_run_start(name="promote_stages", as_of=now, full=True)
    chunk = run.chunks.get()
    JobChunk.objects.filter(pk=chunk.pk).update(status=ChunkStatus.RUNNING, claimed_at=now, attempts=1)
    return chunk


@pytest.mark.django_db
def test_a_claim_is_queued_again_only_once_older_than_the_setting(member, store, now, settings):
    settings.JOB_CHUNK_STALE_AFTER = 60
    _stale_member(member, store)
    chunk = _claimed_chunk(now)

    fresh = job_chunks_requeue_stale(now=now + timedelta(seconds=59))
    stale = job_chunks_requeue_stale(now=now + timedelta(seconds=61))
    just_queued = job_chunks_requeue_stale(now=now + timedelta(seconds=62))

    assert (fresh, stale, just_queued) == ([], [chunk.pk], [])
    assert JobChunk.objects.get(pk=chunk.pk).claimed_at == now + timedelta(seconds=61)


@pytest.mark.django_db
def test_pending_and_finished_chunks_are_not_queued_again(store, now, settings):
    settings.JOB_CHUNK_SIZE = 1
    for member in (MemberFactory(), MemberFactory()):
        _stale_member(member, store)
    run, _ = job_run_start(name="promote_stages", as_of=now, full=True)
    finished = run.chunks.order_by("index").first()
    job_chunk_run(chunk_id=finished.pk)

    assert job_chunks_requeue_stale(now=now + timedelta(days=1)) == []
    assert list(run.chunks.order_by("index").values_list("status", flat=True)) == ["done", "pending"]


@pytest.mark.django_db
def test_a_retry_overdue_by_the_setting_is_queued_again(member, store, now, settings):
    settings.JOB_CHUNK_STALE_AFTER = 60
    _stale_member(member, store)
    refuse_rows(StageChange, member_id=member.pk, times=1)  # rolled back with the test
    run, _ = job_run_start(name="promote_stages", as_of=now, full=True)
    with pytest.raises(ChunkRetry):
        job_chunk_run(chunk_id=run.chunks.get().pk)
    chunk = run.chunks.get()  # waiting for its retry, whose worker may die holding it
    due = chunk.claimed_at

    assert chunk.status == ChunkStatus.PENDING
    assert job_chunks_requeue_stale(now=due + timedelta(seconds=59)) == []
    assert job_chunks_requeue_stale(now=due + timedelta(seconds=61)) == [chunk.pk]


@pytest.mark.django_db
def test_the_watchdog_runs_every_minute():
    task = PeriodicTask.objects.get(task="jobs.requeue_stale_chunks")

    assert (task.enabled, task.interval.every, task.interval.period) == (True, 60, "seconds")


@pytest.mark.django_db(transaction=True)
def test_a_chunk_a_live_worker_holds_is_not_queued_again(member, store, now, settings):
    settings.JOB_CHUNK_STALE_AFTER = 60
    _stale_member(member, store)
    chunk = _claimed_chunk(now)
    db = connection.settings_dict
    worker = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"])
    worker.cursor().execute("SELECT id FROM jobs_jobchunk WHERE id = %s FOR UPDATE", [chunk.pk])

    while_held = job_chunks_requeue_stale(now=now + timedelta(hours=1))
    worker.rollback()
    worker.close()
    after = job_chunks_requeue_stale(now=now + timedelta(hours=1))

    assert (while_held, after) == ([], [chunk.pk])


@pytest.fixture
def workers():
    forget_messages()
    started = []
    yield lambda: started.append(start_worker()) or started[-1]
    for process in started:
        stop_worker(process)
    forget_messages()


def _until(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s")


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_chunk_has_its_chunk_run_again_exactly_once(workers, member, store, settings):
    settings.JOB_CHUNK_STALE_AFTER = 2  # a few seconds here; a minute in production
    _stale_member(member, store)
    holder = hold_member_row(member.pk)  # the chunk will stop at the member row: mid-chunk
    first = workers()
    start_job.delay("promote_stages", True, "test")
    wait_until_held_up_by(holder, 1)

    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    holder.rollback()  # the killed worker's session finds its client gone and rolls back
    holder.close()
    chunk = JobChunk.objects.get()
    assert (chunk.status, chunk.attempts) == (ChunkStatus.RUNNING, 1)

    _until(requeue_stale_chunks)  # what beat runs every minute
    workers()
    run = wait_for("promote_stages")

    chunk.refresh_from_db()
    assert (run.status, run.chunks_done, run.changed) == (RunStatus.DONE, 1, 1)
    assert (chunk.status, chunk.attempts) == (ChunkStatus.DONE, 2)
    assert StageChange.objects.filter(member=member, kind="stage", run=run).count() == 1
    assert Member.objects.get(pk=member.pk).stage == Stage.FIRST_TIME
