from celery import shared_task
from django.utils import timezone

from .expiring import points_expiring_soon_record


@shared_task(name="rewards.points_expiring_soon")
def points_expiring_soon() -> int:
    return points_expiring_soon_record(as_of=timezone.now())
