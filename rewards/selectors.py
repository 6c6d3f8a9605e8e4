"""Reads of the points ledger and redemptions."""

import uuid
from datetime import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext

from core.errors import NotFound
from members.models import Member
from stores.access import may_act_on

from .models import LedgerEntry, PointsLot, Redemption


def ledger_entries(*, member: Member) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(member=member).order_by("-id")


def redemption_get(*, public_id, store=None, api_key=None) -> Redemption:
    """A redemption by public id; with `store`, only one that store (through `api_key`) may see
    (see stores.access): another store's is "not found", so ids cannot be probed."""
    try:
        redemption_uuid = uuid.UUID(str(public_id))
    except ValueError:
        raise NotFound(gettext("No such redemption.")) from None
    redemption = Redemption.objects.select_related("member").filter(public_id=redemption_uuid).first()
    if redemption is None or not may_act_on(store=store, api_key=api_key, made_by_store_id=redemption.store_id):
        raise NotFound(gettext("No such redemption."))
    return redemption


def points_expiry_candidates(as_of: datetime, previous_run=None) -> QuerySet:
    """The members holding a points lot that is due by `as_of` and not used up."""
    due = PointsLot.objects.filter(remaining__gt=0, expires_at__lte=as_of)
    return due.order_by().values_list("member_id", flat=True).distinct()
