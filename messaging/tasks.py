from celery import shared_task

from .services import outbox_send_due


@shared_task(name="messaging.send_due")
def send_due_messages() -> int:
    return outbox_send_due()
