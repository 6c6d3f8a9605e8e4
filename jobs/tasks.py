"""Celery entry points: a run fans out into one task per chunk, dispatched after commit."""

from celery import shared_task
from django.db import transaction

from .services import job_chunk_run, job_run_start


@shared_task(name="jobs.start")
def start_job(name: str, full: bool = False, triggered_by: str = "schedule", params: dict | None = None) -> int:
    run = job_run_start(name=name, full=full, triggered_by=triggered_by, params=params)
    chunk_ids = list(run.chunks.values_list("pk", flat=True))
    transaction.on_commit(lambda: [run_chunk.delay(chunk_id) for chunk_id in chunk_ids])
    return run.pk


@shared_task(name="jobs.run_chunk")
def run_chunk(chunk_id: int) -> bool:
    return job_chunk_run(chunk_id=chunk_id)
