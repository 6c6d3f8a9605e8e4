"""`points.expiring_soon`: one event per member and expiry moment, `POINTS_EXPIRING_SOON_DAYS`
ahead of it, for the points still in lots that expire then (a daily job)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum

from events import services as events
from events.models import Event
from events.types import EventType
from members.selectors import member_refs

from .models import PointsLot

CHUNK = 5000


def points_expiring_soon_record(*, as_of: datetime) -> int:
    """Record the events not recorded yet, in chunks of members (one transaction each). Safe to
    run twice or to overlap: an event already recorded for a member and expiry is not recorded
    again (the member chunk is serialised by a transaction-level advisory lock)."""
    horizon = as_of + timedelta(days=settings.POINTS_EXPIRING_SOON_DAYS)
    due = PointsLot.objects.filter(remaining__gt=0, expires_at__gt=as_of, expires_at__lte=horizon)
    member_ids = sorted(set(due.values_list("member_id", flat=True)))
    recorded = 0
    for start in range(0, len(member_ids), CHUNK):
        recorded += _chunk(due.filter(member_id__in=member_ids[start : start + CHUNK]), as_of=as_of)
    return recorded


@transaction.atomic
def _chunk(due, *, as_of: datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x77E6_0003])
    totals = list(due.values("member_id", "expires_at").annotate(points=Sum("remaining")).order_by("member_id"))
    ids = {row["member_id"] for row in totals}
    # Announced already: within the window, by member and expiry moment.
    window = timedelta(days=settings.POINTS_EXPIRING_SOON_DAYS + 1)
    announced = set(
        Event.objects.filter(
            type=EventType.POINTS_EXPIRING_SOON, member_id__in=ids, occurred_at__gte=as_of - window
        ).values_list("member_id", "payload__expires_at")
    )
    fresh = [row for row in totals if (row["member_id"], row["expires_at"].isoformat()) not in announced]
    refs = member_refs(row["member_id"] for row in fresh)
    return events.record_many(
        events.build(
            EventType.POINTS_EXPIRING_SOON,
            member=refs[row["member_id"]],
            data={"points": row["points"], "expires_at": row["expires_at"].isoformat()},
            occurred_at=as_of,
        )
        for row in fresh
    )
