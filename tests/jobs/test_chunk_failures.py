"""A chunk that raises is retried with back-off while the other chunks go on; a chunk that used
its retries fails alone, the run finishes with failures, and the admin says which and why."""

from datetime import timedelta

import pytest
from django.urls import reverse

from jobs.models import ChunkStatus, RunStatus
from jobs.services import ChunkRetry, job_chunk_run, job_run_now, job_run_start
from members.models import Member, Stage, StageChange
from tests.factories import MemberFactory, buy
from tests.jobs.failures import refuse_rows, stop_refusing

pytestmark = pytest.mark.django_db


@pytest.fixture
def refuse():
    models = []

    def make(model, **kwargs):
        models.append(model)
        return refuse_rows(model, **kwargs)

    yield make
    for model in models:
        stop_refusing(model)


def _stale_members(store, now, count):
    members = [MemberFactory() for _ in range(count)]
    for member in members:
        buy(member, store, "50.00", occurred_at=now - timedelta(days=400))
    Member.objects.filter(pk__in=[m.pk for m in members]).update(stage=Stage.REPEAT)  # time has moved on
    return members


def _promote(now):
    return job_run_now(name="promote_stages", as_of=now, full=True).run


def test_a_chunk_that_fails_once_is_retried_and_the_others_go_on(store, now, settings, refuse):
    settings.JOB_CHUNK_SIZE = 1
    members = _stale_members(store, now, 3)
    message = refuse(StageChange, member_id=members[1].pk, times=1)

    run = _promote(now)

    assert (run.status, run.chunks_done, run.chunks_failed, run.changed) == (RunStatus.DONE, 3, 0, 3)
    chunk = run.chunks.get(id_from=members[1].pk)
    assert (chunk.status, chunk.attempts, chunk.failures) == (ChunkStatus.DONE, 2, 1)
    assert message in chunk.error  # the failure it recovered from stays visible
    assert StageChange.objects.filter(run=run).count() == 3


def test_a_chunk_that_keeps_failing_fails_alone_and_the_run_finishes_with_failures(store, now, settings, refuse):
    settings.JOB_CHUNK_SIZE = 1
    settings.JOB_CHUNK_MAX_RETRIES = 2
    members = _stale_members(store, now, 3)
    message = refuse(StageChange, member_id=members[1].pk, times=100)

    run = _promote(now)

    assert (run.status, run.chunks_done, run.chunks_failed, run.changed) == (RunStatus.FAILED, 2, 1, 2)
    assert run.get_status_display() == "Finished with failures"
    chunk = run.chunks.get(id_from=members[1].pk)
    assert (chunk.status, chunk.attempts, chunk.failures) == (ChunkStatus.FAILED, 3, 3)
    assert message in chunk.error
    assert [Member.objects.get(pk=m.pk).stage for m in members] == [Stage.FIRST_TIME, Stage.REPEAT, Stage.FIRST_TIME]


def test_retries_back_off_doubling_the_delay(store, now, settings, refuse):
    settings.JOB_CHUNK_RETRY_DELAY = 30
    (member,) = _stale_members(store, now, 1)
    refuse(StageChange, member_id=member.pk, times=2)
    run, _ = job_run_start(name="promote_stages", as_of=now, full=True)
    chunk = run.chunks.get()

    delays = []
    for _ in range(2):
        with pytest.raises(ChunkRetry) as retry:
            job_chunk_run(chunk_id=chunk.pk)
        delays.append(retry.value.countdown)

    assert delays == [30, 60]
    assert job_chunk_run(chunk_id=chunk.pk) is True


def test_the_admin_shows_which_chunk_failed_and_why(admin_client_logged, store, now, settings, refuse):
    settings.JOB_CHUNK_SIZE = 1
    settings.JOB_CHUNK_MAX_RETRIES = 0
    members = _stale_members(store, now, 2)
    message = refuse(StageChange, member_id=members[1].pk, times=100)
    run = _promote(now)

    listing = admin_client_logged.get(reverse("admin:jobs_jobrun_changelist")).content.decode()
    page = admin_client_logged.get(reverse("admin:jobs_jobrun_change", args=[run.pk])).content.decode()

    assert "1/2, 1 failed" in listing and "Finished with failures" in listing
    assert f"<summary>django.db.utils.InternalError: {message}" in page
