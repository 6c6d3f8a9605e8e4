"""The daily sales aggregate: which days changed since the last refresh, and their recount.

A day is recounted whole (delete its rows, insert them again from the purchases), so a refresh is
idempotent and two overlapping refreshes converge; the job's start lock keeps them apart anyway.
"""

from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from members.models import Purchase, Return

from .models import DailySales

DAYS_PER_BATCH = 31
JOB_NAME = "refresh_daily_sales"


def changed_days(*, since: datetime | None, as_of: datetime) -> list[date]:
    """Local days whose purchases may have changed: those of purchases and returns recorded since
    `since` (every day with a purchase when None), up to as_of."""
    purchases = Purchase.objects.filter(created_at__lte=as_of)
    returns = Return.objects.filter(created_at__lte=as_of)
    if since is not None:
        purchases, returns = purchases.filter(created_at__gte=since), returns.filter(created_at__gte=since)
    days = set(purchases.annotate(day=TruncDate("occurred_at")).order_by().values_list("day", flat=True).distinct())
    days |= set(
        returns.annotate(day=TruncDate("purchase__occurred_at")).order_by().values_list("day", flat=True).distinct()
    )
    return sorted(days)


def daily_sales_refresh_since(*, as_of: datetime) -> dict:
    """The nightly job's work (its prepare step): recount the days changed since the previous
    finished refresh began (less a margin for late commits), or every day on the first run."""
    from jobs.incremental import recorded_since
    from jobs.models import JobRun, RunStatus

    previous = JobRun.objects.filter(name=JOB_NAME, status=RunStatus.DONE, as_of__lt=as_of).order_by("-as_of").first()
    days = changed_days(since=previous and recorded_since(previous), as_of=as_of)
    return {"days": len(days), "rows": daily_sales_refresh(days=days)}


def last_refreshed() -> datetime | None:
    """The as-of moment of the latest finished refresh: the aggregate is complete up to it."""
    from jobs.models import JobRun, RunStatus

    return (
        JobRun.objects.filter(name=JOB_NAME, status=RunStatus.DONE)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )


@transaction.atomic
def daily_sales_refresh(*, days: list[date]) -> int:
    """Recount the given days, a month of days per statement pair; returns the rows written."""
    written = 0
    for start in range(0, len(days), DAYS_PER_BATCH):
        batch = days[start : start + DAYS_PER_BATCH]
        DailySales.objects.filter(day__in=batch).delete()
        since = timezone.make_aware(datetime.combine(batch[0], datetime.min.time()))
        until = timezone.make_aware(datetime.combine(batch[-1] + timedelta(days=1), datetime.min.time()))
        rows = (
            Purchase.objects.filter(occurred_at__gte=since, occurred_at__lt=until)
            .annotate(day=TruncDate("occurred_at"))
            .filter(day__in=batch)
            .order_by()
            .values("day", "store_id", "channel")
            .annotate(revenue=Sum(F("total") - F("returned_amount")), purchases=Count("pk"))
        )
        created = DailySales.objects.bulk_create([DailySales(**row) for row in rows.iterator()], batch_size=5000)
        written += len(created)
    return written
