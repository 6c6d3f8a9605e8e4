"""Recording events: `build` makes the row (pure, unsaved), `record` inserts it in the caller's
transaction. Both take the member as any object with `pk` and `public_id`.

`record` is one INSERT whose result nobody reads, so on the POS path it travels with the
checkout's other writes (no round trip of its own); its sequence number comes from a trigger.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from django.utils import timezone

from loyalty.fastsql import insert_instance

from .models import Event
from .types import SCHEMA_VERSION


class MemberRef(NamedTuple):
    """A member as events need one (batch jobs that hold ids, not rows)."""

    pk: int
    public_id: uuid.UUID


def build(type: str, *, member=None, data: dict | None = None, occurred_at: datetime | None = None) -> Event:
    """The event row for `type`, unsaved. A member event's data starts with the member's public id."""
    payload = {"member_id": str(member.public_id)} if member is not None else {}
    payload.update(data or {})
    return Event(
        type=type,
        member_id=member.pk if member is not None else None,
        occurred_at=occurred_at or timezone.now(),
        payload=payload,
        schema_version=SCHEMA_VERSION,
    )


def record(type: str, *, member=None, data: dict | None = None, occurred_at: datetime | None = None) -> Event:
    """Record that `type` happened, in the caller's transaction (the row commits with the change
    or not at all). The returned row has its public `uuid`; its bigint id and sequence stay unread."""
    event = build(type, member=member, data=data, occurred_at=occurred_at)
    insert_instance(event, returning_id=False)
    return event


def record_many(events: Iterable[Event]) -> int:
    """Insert built events in one statement (batch jobs). Ordered by member so two overlapping
    batches take the members' sequence rows in the same order and never deadlock."""
    rows = sorted(events, key=lambda event: event.member_id or 0)
    Event.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
