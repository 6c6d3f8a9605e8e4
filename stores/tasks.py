from celery import shared_task

from .services import idempotency_records_purge


@shared_task(name="stores.purge_idempotency_records")
def purge_idempotency_records() -> int:
    return idempotency_records_purge()
