"""A real Celery worker, against the real Redis broker and the test database, runs a job."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import RunStatus
from jobs.tasks import start_job
from members.models import Member, Stage, StageChange
from tests.factories import buy
from tests.jobs.failures import refuse_rows, stop_refusing
from tests.jobs.workers import forget_messages, start_worker, stop_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker():
    forget_messages()  # nothing left over from other tests
    process = start_worker()
    yield process
    stop_worker(process)


def test_a_job_runs_through_the_broker_on_a_real_worker(worker, member, store, settings):
    buy(member, store, "50.00", occurred_at=timezone.now() - timedelta(days=400))
    Member.objects.filter(pk=member.pk).update(stage=Stage.REPEAT)  # stale: time has moved on

    start_job.delay("promote_stages", True, "test")

    run = wait_for("promote_stages")
    assert (run.status, run.changed, run.triggered_by) == (RunStatus.DONE, 1, "test")
    assert Member.objects.get(pk=member.pk).stage == Stage.FIRST_TIME


def test_a_campaign_runs_on_a_real_worker(worker, store):
    from datetime import date

    from campaigns.models import Campaign, CampaignGrant
    from tests.factories import MemberFactory

    member = MemberFactory(birthday=date(1990, timezone.localdate().month, 1))
    campaign = Campaign.objects.create(
        name="Birthday",
        kind="birthday",
        status="active",
        points=88,
        holdout_percent=0,
        starts_at=timezone.now() - timedelta(days=1),
    )

    start_job.delay("campaign", False, "test", {"campaign": campaign.pk})

    run = wait_for("campaign")
    assert (run.status, run.changed) == (RunStatus.DONE, 1)
    assert CampaignGrant.objects.get().member_id == member.pk
    assert Member.objects.get(pk=member.pk).points_balance == 88


@pytest.fixture
def refuse_stage_changes():
    yield lambda **kwargs: refuse_rows(StageChange, **kwargs)
    stop_refusing(StageChange)  # DDL outlives the flush between transactional tests


def test_a_chunk_that_fails_is_retried_by_the_worker_after_its_delay(member, store, refuse_stage_changes):
    buy(member, store, "50.00", occurred_at=timezone.now() - timedelta(days=400))
    Member.objects.filter(pk=member.pk).update(stage=Stage.REPEAT)
    message = refuse_stage_changes(member_id=member.pk, times=1)
    forget_messages()
    process = start_worker(JOB_CHUNK_RETRY_DELAY="1")
    try:
        start_job.delay("promote_stages", True, "test")
        run = wait_for("promote_stages")
    finally:
        stop_worker(process)

    chunk = run.chunks.get()
    assert (run.status, run.changed) == (RunStatus.DONE, 1)
    assert (chunk.attempts, chunk.failures) == (2, 1)
    assert message in chunk.error
    assert StageChange.objects.filter(member=member, kind="stage", run=run).count() == 1
