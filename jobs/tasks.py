"""Celery entry points: a run fans out into one task per chunk, dispatched after commit; a failed
chunk is retried with back-off; a watchdog queues again the chunks of workers that died."""

from celery import shared_task
from django.db import transaction

from .services import ChunkRetry, job_chunk_run, job_chunks_requeue_stale, job_run_start


@shared_task(name="jobs.start")
def start_job(name: str, full: bool = False, triggered_by: str = "schedule", params: dict | None = None) -> int:
    run, created = job_run_start(name=name, full=full, triggered_by=triggered_by, params=params)
    if created:  # a run already going has its chunks queued
        chunk_ids = list(run.chunks.values_list("pk", flat=True))
        transaction.on_commit(lambda: [run_chunk.delay(chunk_id) for chunk_id in chunk_ids])
    return run.pk


@shared_task(name="jobs.run_chunk", bind=True, max_retries=None)
def run_chunk(self, chunk_id: int) -> bool:
    try:
        return job_chunk_run(chunk_id=chunk_id)
    except ChunkRetry as retry:
        # The chunk counts its own failures (JOB_CHUNK_MAX_RETRIES); Celery only waits.
        raise self.retry(countdown=retry.countdown, exc=retry) from retry


@shared_task(name="jobs.requeue_stale_chunks")
def requeue_stale_chunks() -> int:
    chunk_ids = job_chunks_requeue_stale()
    for chunk_id in chunk_ids:
        run_chunk.delay(chunk_id)
    return len(chunk_ids)
