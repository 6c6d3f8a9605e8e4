"""Recording events: `build` makes the row (pure, unsaved), `record` inserts it in the caller's
transaction. Both take the member as any object with `pk` and `public_id`.

On a checkout (a purchase, a return, a redemption, a voucher consume or cancel) the service that
decides the change builds the event and hands it to its unit of work, `work.insert(event)`: the row
travels with the checkout's other writes in the final flush, no round trip of its own. Elsewhere
`record` sends one INSERT whose result nobody reads. Either way the INSERT leaves `sequence` NULL
and the database trigger numbers it (migration 0001).
"""

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from core.unit_of_work import UnitOfWork

from .models import Event
from .types import SCHEMA_VERSION, MemberRef

__all__ = ["MemberRef", "build", "record", "record_many"]

# Rows per INSERT statement of `record_many` (well under PostgreSQL's 65,535 parameters).
BATCH = 2000


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
    or not at all). The returned row has its public `uuid`; its bigint id and sequence stay unread.
    A service with a unit of work inserts `build(...)` through it instead."""
    event = build(type, member=member, data=data, occurred_at=occurred_at)
    work = UnitOfWork()
    work.insert(event)
    work.flush()
    return event


def record_many(events: Iterable[Event], *, work: UnitOfWork | None = None) -> int:
    """Insert built events (batch jobs): held by `work` when given (sent with its flush), else
    sent now. Ordered by member so two overlapping batches take the members' sequence rows in the
    same order and never deadlock."""
    rows = sorted(events, key=lambda event: event.member_id or 0)
    own = work is None
    work = UnitOfWork() if own else work
    for start in range(0, len(rows), BATCH):
        work.insert(*rows[start : start + BATCH])
        if own:
            work.flush()
    return len(rows)
