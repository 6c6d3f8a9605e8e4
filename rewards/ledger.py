"""Posting to the points ledger: the only code that writes entries, lots and balances.

Callers hold the member row locked (`lock_member`) for the whole transaction, so every points
movement of one member is serialised and the balance read from the locked row is exact. All
services lock the member before anything else they lock, which keeps lock order consistent.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Q
from django.utils import timezone

from events import services as events
from events.types import EventType
from loyalty.errors import InsufficientPoints
from loyalty.fastsql import insert_instance, update_many
from members.locking import is_locked, mark_locked
from members.models import Member

from .models import EntryKind, LedgerEntry, LotConsumption, PointsLot

LOT_BATCH = 50


@dataclass(frozen=True)
class Actor:
    """Who moves the points: a store through an API key, a staff user, or a system job."""

    store: object = None
    api_key: object = None
    staff_user: object = None
    job: str = ""

    def as_fields(self) -> dict:
        return {"store": self.store, "api_key": self.api_key, "staff_user": self.staff_user, "job": self.job}


@dataclass(frozen=True)
class Source:
    """What caused the movement."""

    purchase: object = None
    return_record: object = None
    redemption: object = None
    voucher: object = None
    reason: str = ""

    def as_fields(self) -> dict:
        return {
            "purchase": self.purchase,
            "return_record": self.return_record,
            "redemption": self.redemption,
            "voucher": self.voucher,
            "reason": self.reason[:300],
        }


def lock_member(member: Member | int) -> Member:
    """The member row, locked until the transaction ends. A member already fetched with a lock in
    this transaction (`member_get(..., for_update=True)`) is used as it is."""
    if isinstance(member, Member) and is_locked(member):
        return member
    member_id = member.pk if isinstance(member, Member) else member
    # FOR NO KEY UPDATE: as exclusive as FOR UPDATE between member locks, but rows that merely
    # reference the member (a campaign's vouchers, grants) can still be inserted meanwhile, so a
    # batch holding some other row can't deadlock with a till holding the member.
    return mark_locked(Member.objects.select_for_update(no_key=True).get(pk=member_id))


# Which event a ledger entry is, by its kind (a reversal is an adjustment the member did not ask for).
POINTS_EVENT = {
    "earn": EventType.POINTS_EARNED,
    "bonus": EventType.POINTS_EARNED,
    "redeem": EventType.POINTS_REDEEMED,
    "expire": EventType.POINTS_EXPIRED,
    "adjust": EventType.POINTS_ADJUSTED,
    "reverse": EventType.POINTS_ADJUSTED,
}


def _move_balance(member: Member, points: int, *, write: bool = True) -> None:
    if write:
        Member.objects.filter(pk=member.pk).update(points_balance=F("points_balance") + points)
    member.points_balance += points


def _new_entry(member: Member, *, kind: str, points: int, actor: Actor, source: Source, expires_at=None):
    entry = LedgerEntry(
        member=member,
        kind=kind,
        points=points,
        balance_after=member.points_balance + points,
        expires_at=expires_at,
        created_at=timezone.now(),
        **actor.as_fields(),
        **source.as_fields(),
    )
    insert_instance(entry)
    events.record(
        POINTS_EVENT[kind], member=member, data={"points": points, "balance": entry.balance_after, "kind": kind}
    )
    return entry


def _lot_points(balance: int, points: int) -> int:
    """What of a credit goes into a new lot: a negative balance is paid off first."""
    return points - max(0, -balance)


def post_credit(
    member: Member,
    *,
    kind: str,
    points: int,
    expires_at: datetime,
    actor: Actor,
    source: Source,
    balance_written_by_caller: bool = False,
) -> LedgerEntry:
    """Add points in a new lot. A negative balance is paid off first; only the rest goes to the lot.

    With `balance_written_by_caller` the caller adds `points` to the stored balance in the UPDATE
    it makes anyway (the purchase path), in the same transaction."""
    to_lot = _lot_points(member.points_balance, points)
    entry = _new_entry(
        member, kind=kind, points=points, actor=actor, source=source, expires_at=expires_at if to_lot > 0 else None
    )
    if to_lot > 0:
        lot = PointsLot(member=member, entry=entry, points=to_lot, remaining=to_lot, expires_at=expires_at)
        insert_instance(lot, returning_id=False)
    _move_balance(member, points, write=not balance_written_by_caller)
    return entry


def require_balance(member: Member, points: int) -> None:
    if member.points_balance < points:
        raise InsufficientPoints(
            f"The member has {member.points_balance} points; {points} were asked for.",
            errors={"points": [f"Only {max(member.points_balance, 0)} points are available."]},
            extra={"points_balance": member.points_balance},
        )


def post_debit(
    member: Member,
    *,
    kind: str,
    points: int,
    actor: Actor,
    source: Source,
    allow_negative: bool = False,
    first_lot: PointsLot | None = None,
) -> LedgerEntry:
    """Take points from the oldest lots first (or from `first_lot` first).

    Without `allow_negative` the balance must cover the points; with it (a return whose points
    were already spent) the balance may go below zero once the lots are empty.
    """
    if not allow_negative:
        require_balance(member, points)
    covered = min(points, max(member.points_balance, 0))
    entry = _new_entry(member, kind=kind, points=-points, actor=actor, source=source)
    _consume_lots(member, entry, covered, first_lot)
    _move_balance(member, -points)
    return entry


def _consume_lots(member: Member, entry: LedgerEntry, points: int, first_lot: PointsLot | None) -> None:
    touched, consumptions, needed = [], [], points
    for lot in _open_lots(member, first_lot):
        if needed == 0:
            break
        used = min(lot.remaining, needed)
        lot.remaining -= used
        needed -= used
        touched.append(lot)
        consumptions.append(LotConsumption(entry=entry, lot=lot, points=used))
    if needed:
        raise AssertionError(f"member {member.pk}: lots short by {needed} points; ledger invariant broken")
    PointsLot.objects.bulk_update(touched, ["remaining"])
    LotConsumption.objects.bulk_create(consumptions)


def _open_lots(member: Member, first_lot: PointsLot | None):
    """The member's lots with points left, `first_lot` first, then by expiry, fetched in pages."""
    if first_lot is not None and first_lot.remaining > 0:
        yield first_lot
    lots = PointsLot.objects.filter(member=member, remaining__gt=0).order_by("expires_at", "id")
    if first_lot is not None:
        lots = lots.exclude(pk=first_lot.pk)
    page = list(lots[:LOT_BATCH])
    while page:
        yield from page
        if len(page) < LOT_BATCH:
            return
        last = page[-1]
        after_last = Q(expires_at__gt=last.expires_at) | Q(expires_at=last.expires_at, id__gt=last.id)
        page = list(lots.filter(after_last)[:LOT_BATCH])


def restore_credit(member: Member, *, debit: LedgerEntry, actor: Actor, source: Source) -> LedgerEntry:
    """Give back what `debit` took, into the lots it took from (latest-expiring first).

    A negative balance is paid off first, as with any credit.
    """
    points = -debit.points
    to_restore = points - max(0, -member.points_balance)
    entry = _new_entry(member, kind="reverse", points=points, actor=actor, source=source)
    touched = []
    for consumption in debit.consumptions.select_related("lot").order_by("-lot__expires_at", "-lot_id"):
        if to_restore <= 0:
            break
        give = min(consumption.points, to_restore)
        consumption.lot.remaining += give
        to_restore -= give
        touched.append(consumption.lot)
    PointsLot.objects.bulk_update(touched, ["remaining"])
    _move_balance(member, points)
    return entry


def post_bonus_many(points_by_member: dict[int, int], *, expires_at: datetime, actor: Actor, reason: str) -> dict:
    """Credit bonus points to many members in a constant number of statements (campaigns).

    Locks the members in primary-key order, then writes entries, lots and balances in bulk with
    the same debt rule as `post_credit`. Returns the entries by member id."""
    if not points_by_member:
        return {}
    balances = dict(
        Member.objects.select_for_update()
        .filter(pk__in=points_by_member)
        .order_by("pk")
        .values_list("pk", "points_balance")
    )
    entries = LedgerEntry.objects.bulk_create(
        LedgerEntry(
            member_id=member_id,
            kind=EntryKind.BONUS,
            points=points,
            balance_after=balances[member_id] + points,
            expires_at=expires_at,
            reason=reason[:300],
            **actor.as_fields(),
        )
        for member_id, points in points_by_member.items()
    )
    lots = []
    for entry in entries:
        to_lot = _lot_points(balances[entry.member_id], entry.points)
        if to_lot > 0:
            lots.append(
                PointsLot(
                    member_id=entry.member_id, entry=entry, points=to_lot, remaining=to_lot, expires_at=expires_at
                )
            )
    PointsLot.objects.bulk_create(lots)
    # The members are locked: their new balances are known exactly.
    update_many(
        [Member(pk=pk, points_balance=balances[pk] + points) for pk, points in points_by_member.items()],
        ["points_balance"],
    )
    return {entry.member_id: entry for entry in entries}
