"""Calendar arithmetic the business speaks in."""

import calendar
from datetime import datetime

from django.utils import timezone


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later, clamped to the end of a shorter month (Jan 31 + 1 = Feb 28).

    Days are counted on the business calendar (`TIME_ZONE`), not in UTC, where a moment before
    08:00 in Shanghai still falls on the day before: 29 Feb 07:00 + 12 months is 28 Feb 07:00."""
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))
