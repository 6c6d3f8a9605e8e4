from celery import shared_task

from .complaints import complaints_escalate


@shared_task(name="feedback.escalate_complaints")
def escalate_complaints() -> int:
    return complaints_escalate()
