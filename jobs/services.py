"""Starting a job run, splitting it into chunks of member ids, and running a chunk exactly once.

A chunk's work and its "done" mark commit together, under a lock on the chunk row: a chunk whose
worker died is simply run again (its services are idempotent), a second delivery of a chunk
being worked on waits and then skips it, and a redelivered chunk that already finished is
skipped. One run of a job is running at a time: starting another joins it.
"""

import logging
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Max, Min, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import field_error
from loyalty import metrics
from members.models import Member

from .models import ChunkStatus, JobChunk, JobRun, RunStatus
from .registry import JOBS, Job

logger = logging.getLogger(__name__)


class ChunkRetry(Exception):
    """A chunk failed and is to be tried again after `countdown` seconds (its error is stored)."""

    def __init__(self, countdown: int):
        super().__init__(countdown)
        self.countdown = countdown


def _previous_run(job: Job, as_of: datetime, full: bool) -> JobRun | None:
    """The last finished run an incremental run continues from: none for a full run, a job that
    always examines everyone, or when the rules changed after that run started."""
    if full or job.rules_changed_at is None:
        return None
    last = JobRun.objects.filter(name=job.name, status=RunStatus.DONE, as_of__lte=as_of).order_by("-as_of").first()
    if last is None or job.rules_changed_at() > last.started_at:
        return None
    return last


def _chunk_size(run: JobRun) -> int:
    limit = JOBS[run.name].max_chunk_size
    return min(settings.JOB_CHUNK_SIZE, limit()) if limit else settings.JOB_CHUNK_SIZE


def _range_chunks(run: JobRun) -> list[JobChunk]:
    bounds = Member.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return []
    size = _chunk_size(run)
    starts = range(bounds["low"], bounds["high"] + 1, size)
    return [JobChunk(run=run, index=index, id_from=start, id_to=start + size) for index, start in enumerate(starts)]


def _candidate_chunks(run: JobRun, member_ids: Iterable[int]) -> list[JobChunk]:
    ids, size = sorted(set(member_ids)), _chunk_size(run)
    parts = [ids[start : start + size] for start in range(0, len(ids), size)]
    return [
        JobChunk(run=run, index=index, id_from=part[0], id_to=part[-1] + 1, member_ids=part)
        for index, part in enumerate(parts)
    ]


def _same_job(name: str, params: dict) -> dict:
    """What tells one job from another: its name, and for a campaign run the campaign."""
    return {"name": name, "params__campaign": params["campaign"]} if "campaign" in params else {"name": name}


def _lock_job(filters: dict) -> None:
    """Serialise starts of the same job until this transaction commits (a run-level lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"jobs.run:{sorted(filters.items())}"])


@transaction.atomic
def job_run_start(
    *, name: str, as_of: datetime | None = None, full: bool = False, triggered_by: str = "", params: dict | None = None
) -> tuple[JobRun, bool]:
    """Start a run of job `name` split into chunks; returns (run, created). While a run of the
    same job (the same campaign) is running, that run is returned instead: two runs at once
    would both decide from the same unchanged rows and write every change twice."""
    job = JOBS.get(name)
    if job is None:
        raise field_error(
            "name", gettext("Unknown job %(name)r; known: %(known)s.") % {"name": name, "known": ", ".join(JOBS)}
        )
    params = params or {}
    same_job = _same_job(name, params)
    # Lock, then decide again: a start that waited here sees the run the other start created,
    # or, if that one already finished, continues from it.
    _lock_job(same_job)
    running = JobRun.objects.filter(**same_job, status=RunStatus.RUNNING).order_by("-pk").first()
    if running is not None:
        return running, False
    as_of = as_of or timezone.now()
    params = job.prepare(as_of, params) if job.prepare else params
    previous = _previous_run(job, as_of, full)
    run = JobRun.objects.create(
        name=name, as_of=as_of, since=previous and previous.as_of, triggered_by=triggered_by, params=params
    )
    # A job that can tell which members may have changed is split over those members only.
    candidates = job.candidates(as_of, previous) if job.candidates else None
    chunks = _range_chunks(run) if candidates is None else _candidate_chunks(run, candidates)
    JobChunk.objects.bulk_create(chunks)
    run.chunks_total = len(chunks)
    if not chunks:
        run.status, run.finished_at = RunStatus.DONE, timezone.now()
    run.save(update_fields=["chunks_total", "status", "finished_at"])
    # "admin: <username>" counts as "admin": one series per kind of trigger, and no staff names.
    trigger = (triggered_by or "unknown").split(":", 1)[0]
    transaction.on_commit(lambda: metrics.JOB_RUNS.labels(name, trigger).inc())
    return run, True


def _run_finish_if_complete(run_id: int) -> None:
    """Close the run once every chunk is done or failed for good."""
    JobRun.objects.filter(
        pk=run_id, status=RunStatus.RUNNING, chunks_total=F("chunks_done") + F("chunks_failed")
    ).update(
        status=Case(When(chunks_failed=0, then=Value(RunStatus.DONE)), default=Value(RunStatus.FAILED)),
        finished_at=timezone.now(),
    )


def job_chunk_run(*, chunk_id: int) -> bool:
    """Run one chunk unless it is already done or failed for good. Returns whether it ran; raises
    `ChunkRetry` when it failed and is to be tried again. Its duration and outcome are measured."""
    started = time.monotonic()
    outcome = "failed"
    try:
        outcome = _chunk_run(chunk_id)
    except ChunkRetry:
        outcome = "retry"
        raise
    finally:
        job = JobRun.objects.filter(chunks__pk=chunk_id).values_list("name", flat=True).first()
        if job is not None:
            metrics.observe_chunk(job, outcome, time.monotonic() - started)
    return outcome == "done"


def _chunk_run(chunk_id: int) -> str:
    """done, skipped (finished or settled elsewhere) or failed (for good); ChunkRetry to retry."""
    # The claim commits on its own so the watchdog can see it; a delivery of a chunk that another
    # worker holds waits here and then finds it done.
    claimed = JobChunk.objects.filter(
        pk=chunk_id, status__in=[ChunkStatus.PENDING, ChunkStatus.RUNNING], run__status=RunStatus.RUNNING
    ).update(status=ChunkStatus.RUNNING, claimed_at=timezone.now(), attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    chunk = JobChunk.objects.select_related("run").get(pk=chunk_id)
    run = chunk.run
    try:
        with transaction.atomic():
            # Held until the work commits: the watchdog skips a chunk whose worker is alive.
            mine = JobChunk.objects.select_for_update().filter(pk=chunk_id, status=ChunkStatus.RUNNING)
            if not list(mine.values_list("pk", flat=True)):
                return "skipped"  # another delivery finished it while this one waited
            result = JOBS[run.name].chunk(
                as_of=run.as_of,
                member_id_from=chunk.id_from,
                member_id_to=chunk.id_to,
                member_ids=chunk.member_ids,
                since=run.since,
                run=run,
            )
            JobChunk.objects.filter(pk=chunk_id).update(
                status=ChunkStatus.DONE,
                examined=result.examined,
                changed=result.changed,
                finished_at=timezone.now(),
            )
            JobRun.objects.filter(pk=run.pk).update(
                chunks_done=F("chunks_done") + 1,
                examined=F("examined") + result.examined,
                changed=F("changed") + result.changed,
            )
            _run_finish_if_complete(run.pk)
    except Exception as exc:
        countdown = _chunk_failed(chunk_id=chunk_id, run_id=run.pk, exc=exc)
        if countdown is not None:
            raise ChunkRetry(countdown) from exc
        return "failed"
    return "done"


@transaction.atomic
def _chunk_failed(*, chunk_id: int, run_id: int, exc: Exception) -> int | None:
    """Store why the chunk failed; put it back for a retry (returns in how many seconds), or give
    up on it when it has used its retries (the run goes on with its other chunks and finishes
    with failures)."""
    logger.error("Job chunk %s failed", chunk_id, exc_info=exc)
    chunk = JobChunk.objects.select_for_update().get(pk=chunk_id)
    if chunk.status != ChunkStatus.RUNNING:
        return None  # another delivery settled it meanwhile
    # What went wrong on the first line (the admin shows it), then where.
    what = "".join(traceback.format_exception_only(exc)).strip().splitlines()[0]
    error = f"{what}\n\n{''.join(traceback.format_exception(exc, limit=-8))[-4000:]}"
    failures = chunk.failures + 1
    give_up = failures > settings.JOB_CHUNK_MAX_RETRIES
    countdown = None if give_up else settings.JOB_CHUNK_RETRY_DELAY * 2 ** (failures - 1)
    JobChunk.objects.filter(pk=chunk_id).update(
        status=ChunkStatus.FAILED if give_up else ChunkStatus.PENDING,
        failures=failures,
        error=error,
        finished_at=timezone.now() if give_up else None,
        # When the retry is due: if the worker holding the retry dies, the watchdog steps in.
        claimed_at=None if give_up else timezone.now() + timedelta(seconds=countdown),
    )
    if not give_up:
        return countdown
    JobRun.objects.filter(pk=run_id).update(chunks_failed=F("chunks_failed") + 1)
    _run_finish_if_complete(run_id)
    return None


@transaction.atomic
def job_chunks_requeue_stale(*, now: datetime | None = None) -> list[int]:
    """The chunks to queue again: claimed more than JOB_CHUNK_STALE_AFTER ago, not finished, and
    no longer locked by the worker that claimed them (it died, so its transaction was rolled
    back), or whose retry is that much overdue (the worker holding the retry died). A chunk still
    being worked on is locked and skipped, however long it takes."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_CHUNK_STALE_AFTER)
    stale = list(
        JobChunk.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(claimed_at__lt=cutoff, run__status=RunStatus.RUNNING)
        .filter(Q(status=ChunkStatus.RUNNING) | Q(status=ChunkStatus.PENDING, failures__gt=0))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    # Stamped now, so the next pass leaves them to the delivery queued for them.
    JobChunk.objects.filter(pk__in=stale).update(claimed_at=now)
    return stale


@dataclass(frozen=True)
class RunSummary:
    run: JobRun
    seconds: float

    def line(self) -> str:
        mode = "full" if self.run.since is None else f"since {timezone.localtime(self.run.since):%Y-%m-%d %H:%M}"
        return (
            f"{self.run.name}: examined {self.run.examined}, changed {self.run.changed}, "
            f"{self.seconds:.2f}s ({self.run.chunks_total} chunks, {mode})"
        )


def job_run_now(
    *, name: str, as_of: datetime | None = None, full: bool = False, triggered_by: str = "", params: dict | None = None
) -> RunSummary:
    """Run a whole job in this process, chunk after chunk (the shell and tests use this)."""
    started = time.monotonic()
    run, _ = job_run_start(name=name, as_of=as_of, full=full, triggered_by=triggered_by, params=params)
    pending = list(run.chunks.order_by("index").values_list("pk", flat=True))
    while pending:
        # A failed chunk is tried again after the others, at once: back-off is for workers.
        retry = []
        for chunk_id in pending:
            try:
                job_chunk_run(chunk_id=chunk_id)
            except ChunkRetry:
                retry.append(chunk_id)
        pending = retry
    run.refresh_from_db()
    return RunSummary(run, time.monotonic() - started)
