"""Starting a job run, splitting it into chunks of member ids, and running a chunk exactly once.

A chunk's work and its "done" mark commit together, so a chunk whose worker died is simply run
again (its services are idempotent), and a redelivered chunk that already finished is skipped.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Min
from django.utils import timezone

from loyalty import metrics
from loyalty.errors import field_error
from members.models import Member

from .models import ChunkStatus, JobChunk, JobRun, RunStatus
from .registry import JOBS, Job


def _previous_run(job: Job, as_of: datetime, full: bool) -> JobRun | None:
    """The last finished run an incremental run continues from: none for a full run, a job that
    always examines everyone, or when the rules changed after that run started."""
    if full or job.rules_changed_at is None:
        return None
    last = JobRun.objects.filter(name=job.name, status=RunStatus.DONE, as_of__lte=as_of).order_by("-as_of").first()
    if last is None or job.rules_changed_at() > last.started_at:
        return None
    return last


def _range_chunks(run: JobRun) -> list[JobChunk]:
    bounds = Member.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return []
    size = settings.JOB_CHUNK_SIZE
    starts = range(bounds["low"], bounds["high"] + 1, size)
    return [JobChunk(run=run, index=index, id_from=start, id_to=start + size) for index, start in enumerate(starts)]


def _candidate_chunks(run: JobRun, member_ids: Iterable[int]) -> list[JobChunk]:
    ids, size = sorted(set(member_ids)), settings.JOB_CHUNK_SIZE
    parts = [ids[start : start + size] for start in range(0, len(ids), size)]
    return [
        JobChunk(run=run, index=index, id_from=part[0], id_to=part[-1] + 1, member_ids=part)
        for index, part in enumerate(parts)
    ]


@transaction.atomic
def job_run_start(
    *, name: str, as_of: datetime | None = None, full: bool = False, triggered_by: str = "", params: dict | None = None
) -> JobRun:
    job = JOBS.get(name)
    if job is None:
        raise field_error("name", f"Unknown job {name!r}; known: {', '.join(JOBS)}.")
    as_of = as_of or timezone.now()
    params = job.prepare(as_of, params or {}) if job.prepare else (params or {})
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
    return run


def job_chunk_run(*, chunk_id: int) -> bool:
    """Run one chunk unless it is already done. Returns whether it ran."""
    chunk = JobChunk.objects.select_related("run").get(pk=chunk_id)
    started = time.monotonic()
    try:
        ran = _chunk_run(chunk)
    except Exception:
        metrics.observe_chunk(chunk.run.name, "failed", time.monotonic() - started)
        raise
    metrics.observe_chunk(chunk.run.name, "done" if ran else "skipped", time.monotonic() - started)
    return ran


def _chunk_run(chunk: JobChunk) -> bool:
    chunk_id = chunk.pk
    if chunk.status == ChunkStatus.DONE or chunk.run.status == RunStatus.FAILED:
        return False
    JobChunk.objects.filter(pk=chunk_id).update(status=ChunkStatus.RUNNING, attempts=F("attempts") + 1)
    run = chunk.run
    try:
        with transaction.atomic():
            result = JOBS[run.name].chunk(
                as_of=run.as_of,
                member_id_from=chunk.id_from,
                member_id_to=chunk.id_to,
                member_ids=chunk.member_ids,
                since=run.since,
                run=run,
            )
            finished = (
                JobChunk.objects.filter(pk=chunk_id)
                .exclude(status=ChunkStatus.DONE)
                .update(
                    status=ChunkStatus.DONE,
                    examined=result.examined,
                    changed=result.changed,
                    finished_at=timezone.now(),
                )
            )
            if not finished:
                # Another delivery of this chunk finished first; its work stands, ours is rolled back.
                transaction.set_rollback(True)
                return False
            JobRun.objects.filter(pk=run.pk).update(
                chunks_done=F("chunks_done") + 1,
                examined=F("examined") + result.examined,
                changed=F("changed") + result.changed,
            )
            JobRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, chunks_done=F("chunks_total")).update(
                status=RunStatus.DONE, finished_at=timezone.now()
            )
    except Exception:
        JobRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, finished_at=timezone.now())
        JobChunk.objects.filter(pk=chunk_id).update(status=ChunkStatus.PENDING)
        raise
    return True


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
    run = job_run_start(name=name, as_of=as_of, full=full, triggered_by=triggered_by, params=params)
    for chunk_id in run.chunks.order_by("index").values_list("pk", flat=True):
        job_chunk_run(chunk_id=chunk_id)
    run.refresh_from_db()
    return RunSummary(run, time.monotonic() - started)
