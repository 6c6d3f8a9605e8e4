"""What an incremental run may take from the run before it."""

from datetime import datetime, timedelta

from django.db.models import Q

from .models import JobRun

# A row written by a transaction that began before the previous run started and committed after
# it carries a timestamp from before that start; looking back this far catches it.
LATE_COMMIT_MARGIN = timedelta(minutes=10)


def recorded_since(previous_run) -> datetime:
    """Rows recorded after this moment may be news to a run continuing from `previous_run`."""
    return previous_run.started_at - LATE_COMMIT_MARGIN


def runs_finished_since(previous_run, name: str):
    """Runs of job `name` whose rows `previous_run` may not have seen: those not finished before
    it started. (Exact, unlike a margin: a long job writes many rows shortly before the next job.)"""
    unseen = Q(finished_at__isnull=True) | Q(finished_at__gt=previous_run.started_at)
    return JobRun.objects.filter(unseen, name=name)
