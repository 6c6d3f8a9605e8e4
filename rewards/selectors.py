"""Reads of the points ledger and redemptions."""

import uuid

from django.db.models import QuerySet

from loyalty.errors import NotFound
from members.models import Member

from .models import LedgerEntry, Redemption


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
