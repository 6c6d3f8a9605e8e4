from celery import shared_task

from .services import jobs_after_import_run


@shared_task(name="imports.jobs_after_import")
def jobs_after_import(triggered_by: str) -> int:
    return len(jobs_after_import_run(triggered_by=triggered_by))
