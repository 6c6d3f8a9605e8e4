"""Posting to the points ledger: the only code that writes entries, lots and balances.

Callers hold the member row locked (`members.locking.member_lock`) for the whole transaction, so
every points movement of one member is serialised and the balance read from the locked row is
exact. The ledger decides the rows (entry, lot, consumptions) and the new balance and hands them
to the caller's `UnitOfWork`; the entry is sent at once (its id is what the lot and consumptions
point at), the rest with the caller's flush.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from psycopg2 import sql

from core.composed_sql import execute
from core.errors import InsufficientPoints
from core.unit_of_work import UnitOfWork
from events import services as events
from events.types import EventType
from members.locking import members_locked
from members.models import Member

from .models import EntryKind, LedgerEntry, LotConsumption, PointsLot

LOT_BATCH = 50
# Members an import locks per statement (in primary-key order, as every batch does).
IMPORT_LOCK_SLICE = 10_000


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


# Which event a ledger entry is, by its kind (a reversal is an adjustment the member did not ask for).
POINTS_EVENT = {
    "earn": EventType.POINTS_EARNED,
    "bonus": EventType.POINTS_EARNED,
    "redeem": EventType.POINTS_REDEEMED,
    "expire": EventType.POINTS_EXPIRED,
    "adjust": EventType.POINTS_ADJUSTED,
    "reverse": EventType.POINTS_ADJUSTED,
}


def _move_balance(work: UnitOfWork, member: Member, points: int) -> None:
    member.points_balance += points
    work.save_fields(member, "points_balance")


def _new_entry(
    work: UnitOfWork, member: Member, *, kind: str, points: int, actor: Actor, source: Source, expires_at=None
):
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
    work.insert_returning_id(entry)
    # The event goes with the rows the caller's flush sends (no round trip of its own).
    work.insert(
        events.build(
            POINTS_EVENT[kind], member=member, data={"points": points, "balance": entry.balance_after, "kind": kind}
        )
    )
    return entry


def _lot_points(balance: int, points: int) -> int:
    """What of a credit goes into a new lot: a negative balance is paid off first."""
    return points - max(0, -balance)


def post_credit(
    member: Member,
    *,
    work: UnitOfWork,
    kind: str,
    points: int,
    expires_at: datetime,
    actor: Actor,
    source: Source,
) -> LedgerEntry:
    """Add points in a new lot. A negative balance is paid off first; only the rest goes to the lot."""
    to_lot = _lot_points(member.points_balance, points)
    entry = _new_entry(
        work,
        member,
        kind=kind,
        points=points,
        actor=actor,
        source=source,
        expires_at=expires_at if to_lot > 0 else None,
    )
    if to_lot > 0:
        work.insert(PointsLot(member=member, entry=entry, points=to_lot, remaining=to_lot, expires_at=expires_at))
    _move_balance(work, member, points)
    return entry


def require_balance(member: Member, points: int) -> None:
    if member.points_balance < points:
        raise InsufficientPoints(
            gettext("The member has %(balance)d points; %(points)d were asked for.")
            % {"balance": member.points_balance, "points": points},
            errors={
                "points": [gettext("Only %(points)d points are available.") % {"points": max(member.points_balance, 0)}]
            },
            extra={"points_balance": member.points_balance},
        )


def post_debit(
    member: Member,
    *,
    work: UnitOfWork,
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
    entry = _new_entry(work, member, kind=kind, points=-points, actor=actor, source=source)
    _consume_lots(work, member, entry, covered, first_lot)
    _move_balance(work, member, -points)
    return entry


def _consume_lots(
    work: UnitOfWork, member: Member, entry: LedgerEntry, points: int, first_lot: PointsLot | None
) -> None:
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
    for lot in touched:
        work.save_fields(lot, "remaining")
    work.insert(*consumptions)


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


def restore_credit(
    member: Member, *, work: UnitOfWork, debit: LedgerEntry, actor: Actor, source: Source
) -> LedgerEntry:
    """Give back what `debit` took, into the lots it took from (latest-expiring first).

    A negative balance is paid off first, as with any credit.
    """
    points = -debit.points
    to_restore = points - max(0, -member.points_balance)
    entry = _new_entry(work, member, kind="reverse", points=points, actor=actor, source=source)
    touched = []
    for consumption in debit.consumptions.select_related("lot").order_by("-lot__expires_at", "-lot_id"):
        if to_restore <= 0:
            break
        give = min(consumption.points, to_restore)
        consumption.lot.remaining += give
        to_restore -= give
        touched.append(consumption.lot)
    for lot in touched:
        work.save_fields(lot, "remaining")
    _move_balance(work, member, points)
    return entry


def post_bonus_many(
    points_by_member: dict[int, int], *, work: UnitOfWork, expires_at: datetime, actor: Actor, reason: str
) -> dict:
    """Credit bonus points to many members in a constant number of statements (campaigns).

    Locks the members in primary-key order, then writes entries, lots and balances in bulk with
    the same debt rule as `post_credit`. Returns the entries by member id."""
    if not points_by_member:
        return {}
    locked = members_locked(Member.objects.filter(pk__in=points_by_member))
    balances = dict(locked.values_list("pk", "points_balance"))
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
    work.insert(*lots)
    # The members are locked: their new balances are known exactly.
    work.update_rows(
        [Member(pk=pk, points_balance=balances[pk] + points) for pk, points in points_by_member.items()],
        ["points_balance"],
    )
    return {entry.member_id: entry for entry in entries}


def import_credits_post(*, table: str, actor_name: str) -> int:
    """Earn entries, lots and balances for imported purchases, set-based (members.imports).

    `table` is a temporary table of (purchase_id, member_id, occurred_at, points, base_points,
    expires_at), one row per purchase earning points. The members are locked in primary-key order
    first; each member's entries follow in time order with their running balance; an entry's lot
    holds what is left after paying an earlier debt (the rule of `post_credit`). The entries carry
    the purchase's time, so the history reads as it happened. Returns the points credited."""
    source = sql.Identifier(table)
    with connection.cursor() as cursor:
        execute(cursor, sql.SQL("SELECT DISTINCT member_id FROM {} ORDER BY member_id").format(source))
        member_ids = [member_id for (member_id,) in cursor.fetchall()]
    for start in range(0, len(member_ids), IMPORT_LOCK_SLICE):
        list(members_locked(Member.objects.filter(pk__in=member_ids[start : start + IMPORT_LOCK_SLICE])).values("pk"))
    with connection.cursor() as cursor:
        execute(
            cursor,
            sql.SQL(
                "INSERT INTO rewards_ledgerentry (member_id, kind, points, balance_after, expires_at, purchase_id, "
                "job, reason, created_at) SELECT i.member_id, %s, i.points, m.points_balance + sum(i.points) OVER "
                "(PARTITION BY i.member_id ORDER BY i.occurred_at, i.purchase_id), i.expires_at, i.purchase_id, %s, "
                "%s, i.occurred_at FROM {} i JOIN members_member m ON m.id = i.member_id "
                "ORDER BY i.member_id, i.occurred_at, i.purchase_id"
            ).format(source),
            [EntryKind.EARN, actor_name[:60], "imported purchase"],
        )
        execute(
            cursor,
            sql.SQL(
                "INSERT INTO rewards_pointslot (member_id, entry_id, points, remaining, expires_at) "
                "SELECT member_id, id, lot, lot, expires_at FROM (SELECT e.member_id, e.id, e.expires_at, "
                "GREATEST(0, LEAST(e.points, e.balance_after)) AS lot FROM rewards_ledgerentry e JOIN {} i "
                "ON i.purchase_id = e.purchase_id AND e.kind = %s) credited WHERE lot > 0 ORDER BY id"
            ).format(source),
            [EntryKind.EARN],
        )
        execute(
            cursor,
            sql.SQL(
                "UPDATE members_member m SET points_balance = m.points_balance + s.points FROM "
                "(SELECT member_id, sum(points) AS points FROM {} GROUP BY member_id) s WHERE m.id = s.member_id"
            ).format(source),
        )
        execute(
            cursor,
            sql.SQL(
                "UPDATE members_purchase p SET points_earned = i.points, base_points = i.base_points "
                "FROM {} i WHERE p.id = i.purchase_id"
            ).format(source),
        )
        execute(cursor, sql.SQL("SELECT coalesce(sum(points), 0) FROM {}").format(source))
        return cursor.fetchone()[0]


def post_expiry_many(due_lots, *, work: UnitOfWork, balances: dict[int, int], job: str, reason: str) -> dict[int, int]:
    """Expire the lots `due_lots` (a queryset of lots with points left, of members locked by the
    caller, whose balances are `balances`): one entry per member, a consumption per lot, the lots
    emptied and the balances moved, in a constant number of statements. Returns points by member."""
    lots = list(due_lots.values_list("pk", "member_id", "remaining"))
    totals: dict[int, int] = {}
    for _, member_id, remaining in lots:
        totals[member_id] = totals.get(member_id, 0) + remaining
    entries = LedgerEntry.objects.bulk_create(
        LedgerEntry(
            member_id=member_id,
            kind=EntryKind.EXPIRE,
            points=-total,
            balance_after=balances[member_id] - total,
            job=job,
            reason=reason[:300],
        )
        for member_id, total in totals.items()
    )
    entry_by_member = {entry.member_id: entry.pk for entry in entries}
    work.insert(
        *(
            LotConsumption(entry_id=entry_by_member[member_id], lot_id=lot_id, points=remaining)
            for lot_id, member_id, remaining in lots
        )
    )
    work.update_rows([PointsLot(pk=lot_id, remaining=0) for lot_id, _, _ in lots], ["remaining"])
    work.update_rows(
        [Member(pk=pk, points_balance=balances[pk] - total) for pk, total in totals.items()], ["points_balance"]
    )
    return totals
