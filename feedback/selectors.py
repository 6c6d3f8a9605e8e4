"""Reads for staff: complaint queue order and complaint metrics."""

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Case, Count, DateTimeField, F, Q, QuerySet, When

from members.models import Purchase

from .complaints import OPEN_STATES
from .models import Complaint


def complaint_queue(queryset: QuerySet | None = None) -> QuerySet:
    """Complaints ordered by the next deadline they can still miss; finished ones last."""
    queryset = queryset if queryset is not None else Complaint.objects.all()
    next_due = Case(
        When(status__in=OPEN_STATES, first_responded_at__isnull=True, then=F("first_response_due_at")),
        When(status__in=OPEN_STATES, then=F("resolution_due_at")),
        default=None,
        output_field=DateTimeField(),
    )
    return queryset.annotate(next_due=next_due).order_by(F("next_due").asc(nulls_last=True), "-created_at")


@dataclass(frozen=True)
class ComplaintMetrics:
    complaints: int
    answered_within_target: float | None
    median_first_response: timedelta | None
    median_resolution: timedelta | None
    per_thousand_purchases: float | None


def _median(durations: list[timedelta]) -> timedelta | None:
    return timedelta(seconds=statistics.median(d.total_seconds() for d in durations)) if durations else None


def complaint_metrics(*, since: datetime, until: datetime, **filters) -> ComplaintMetrics:
    """Service levels over complaints filed in [since, until), optionally for one store or category.

    A complaint still unanswered after its deadline counts as missed."""
    complaints = Complaint.objects.filter(created_at__gte=since, created_at__lt=until, **filters)
    rows = list(
        complaints.values_list("created_at", "first_responded_at", "first_response_due_at", "resolved_at", "status")
    )
    judged = [r for r in rows if r[1] is not None or r[2] < until]
    in_time = sum(1 for r in judged if r[1] is not None and r[1] <= r[2])
    purchase_filters = {"store": filters["store"]} if "store" in filters else {}
    purchases = Purchase.objects.filter(occurred_at__gte=since, occurred_at__lt=until, **purchase_filters).count()
    per_thousand = len(rows) * 1000 / purchases if purchases and "category" not in filters else None
    return ComplaintMetrics(
        complaints=len(rows),
        answered_within_target=in_time / len(judged) if judged else None,
        median_first_response=_median([r[1] - r[0] for r in rows if r[1]]),
        median_resolution=_median([r[3] - r[0] for r in rows if r[3]]),
        per_thousand_purchases=per_thousand,
    )


def complaint_breakdown(*, since: datetime, until: datetime, by: str) -> list[tuple[object, ComplaintMetrics]]:
    """The metrics per store or per category, busiest first."""
    values = (
        Complaint.objects.filter(created_at__gte=since, created_at__lt=until)
        .exclude(Q(**{f"{by}__isnull": True}))
        .values_list(by)
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    return [(value, complaint_metrics(since=since, until=until, **{by: value})) for value, _ in values]
