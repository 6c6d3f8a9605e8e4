"""Real Celery worker processes against the real Redis broker and the test database."""

import os
import subprocess
import sys
import time
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection

from jobs.models import JobRun, RunStatus
from loyalty.celery import app
from tests.processes import database_url

ROOT = Path(__file__).resolve().parents[2]


def start_worker(**env) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "CONN_MAX_AGE": "0",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "loyalty", "worker", "--pool", "solo", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


def forget_messages() -> None:
    """Nothing queued, and nothing a killed worker left unacknowledged (Redis would hand it out
    again after the visibility timeout, to a later test whose ids it may name)."""
    app.control.purge()
    redis.Redis.from_url(settings.REDIS_URL).delete("unacked", "unacked_index")


def wait_for(run_name, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = JobRun.objects.filter(name=run_name, status__in=[RunStatus.DONE, RunStatus.FAILED]).first()
        if run:
            return run
        time.sleep(0.2)
    raise AssertionError(f"{run_name} did not finish within {timeout}s")
