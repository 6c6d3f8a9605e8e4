"""A real Celery worker, against the real Redis broker and the test database, runs a job."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from jobs.models import JobRun, RunStatus
from jobs.tasks import start_job
from loyalty.celery import app
from members.models import Member, Stage
from tests.factories import buy
from tests.processes import database_url

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker():
    app.control.purge()  # nothing left over from other tests
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "CONN_MAX_AGE": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "loyalty", "worker", "--pool", "solo", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)


def _wait_for(run_name, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = JobRun.objects.filter(name=run_name, status__in=[RunStatus.DONE, RunStatus.FAILED]).first()
        if run:
            return run
        time.sleep(0.2)
    raise AssertionError(f"{run_name} did not finish within {timeout}s")


def test_a_job_runs_through_the_broker_on_a_real_worker(worker, member, store, settings):
    buy(member, store, "50.00", occurred_at=timezone.now() - timedelta(days=400))
    Member.objects.filter(pk=member.pk).update(stage=Stage.REPEAT)  # stale: time has moved on

    start_job.delay("promote_stages", True, "test")

    run = _wait_for("promote_stages")
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

    run = _wait_for("campaign")
    assert (run.status, run.changed) == (RunStatus.DONE, 1)
    assert CampaignGrant.objects.get().member_id == member.pk
    assert Member.objects.get(pk=member.pk).points_balance == 88
