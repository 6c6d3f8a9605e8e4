"""Reads of the points ledger and redemptions."""

import uuid
from datetime import datetime

from django.db.models import QuerySet

from loyalty.errors import NotFound
from members.models import Member

from .models import LedgerEntry, PointsLot, Redemption


def ledger_entries(*, member: Member) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(member=member).order_by("-id")


def redemption_get(*, public_id) -> Redemption:
    try:
        redemption_uuid = uuid.UUID(str(public_id))
    except ValueError:
        raise NotFound("No such redemption.") from None
    redemption = Redemption.objects.filter(public_id=redemption_uuid).first()
    if redemption is None:
        raise NotFound("No such redemption.")
    return redemption


def points_expiry_candidates(as_of: datetime, previous_run=None) -> QuerySet:
    """The members holding a points lot that is due by `as_of` and not used up."""
    due = PointsLot.objects.filter(remaining__gt=0, expires_at__lte=as_of)
    return due.order_by().values_list("member_id", flat=True).distinct()
