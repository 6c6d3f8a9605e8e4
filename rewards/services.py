"""Points services: redeem, cancel a redemption, staff adjustments, bonuses and expiry.

Earning on a purchase and reversing on a return are called by the purchase services in
`members.services`, inside their transaction.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from events import services as events
from events.types import EventType
from loyalty.errors import Conflict, DomainError, MemberSuspended, NotFound
from loyalty.fastsql import insert_instance, update_many
from members.models import Member, Purchase, Return
from members.selectors import member_refs
from stores.access import may_act_on

from .earning import earning_setup, lot_expiry
from .ledger import Actor, Source, lock_member, post_credit, post_debit, require_balance, restore_credit
from .models import EntryKind, LedgerEntry, LotConsumption, PointsLot, Redemption, RedemptionStatus

MAX_POINTS_PER_OPERATION = 10_000_000


class RedemptionAlreadyCancelled(Conflict):
    code = "already_cancelled"


class DuplicateRedemptionReceipt(Conflict):
    code = "duplicate_receipt"


def _require_active(member: Member) -> None:
    if member.is_suspended:
        raise MemberSuspended("This member is suspended and cannot use points.")


def _require_points(points: int, field: str = "points") -> None:
    if not 0 < abs(points) <= MAX_POINTS_PER_OPERATION:
        raise DomainError(
            f"Points must be between 1 and {MAX_POINTS_PER_OPERATION}.",
            errors={field: [f"Must be between 1 and {MAX_POINTS_PER_OPERATION}."]},
        )


def points_earn_for_purchase(*, member: Member, purchase: Purchase, actor: Actor) -> LedgerEntry | None:
    """Credit what `purchase.points_earned` says, in a lot that expires per the policy. The caller
    (the purchase service) writes the new balance with the member's other aggregates."""
    if purchase.points_earned <= 0:
        return None
    return post_credit(
        member,
        kind=EntryKind.EARN,
        points=purchase.points_earned,
        expires_at=lot_expiry(purchase.occurred_at),
        actor=actor,
        source=Source(purchase=purchase),
        balance_written_by_caller=True,
    )


def points_reverse_for_return(*, member: Member, return_record: Return, points: int, actor: Actor) -> LedgerEntry:
    """Take back `points` for a return, from the purchase's own lot first.

    If the member already spent them, the balance goes below zero; see `post_debit`.
    """
    purchase = return_record.purchase
    own_lot = PointsLot.objects.filter(entry__purchase=purchase, entry__kind=EntryKind.EARN).first()
    return post_debit(
        member,
        kind=EntryKind.REVERSE,
        points=points,
        actor=actor,
        source=Source(purchase=purchase, return_record=return_record, reason="return"),
        allow_negative=True,
        first_lot=own_lot,
    )


@transaction.atomic
def points_redeem(*, member: Member, points: int, receipt_id: str, store, api_key=None) -> Redemption:
    """Pay with points at a till. Never overdraws: the member row is locked while checking."""
    _require_points(points)
    member = lock_member(member)
    _require_active(member)
    require_balance(member, points)
    value = (Decimal(points) * earning_setup().policy.point_value).quantize(Decimal("0.01"), ROUND_HALF_UP)
    redemption = _insert_redemption(member=member, store=store, receipt_id=receipt_id, points=points, value=value)
    actor = Actor(store=store, api_key=api_key)
    post_debit(member, kind=EntryKind.REDEEM, points=points, actor=actor, source=Source(redemption=redemption))
    redemption.member = member
    return redemption


def _insert_redemption(*, store, receipt_id: str, **fields) -> Redemption:
    """A receipt pays with points once per store, whatever Idempotency-Key its retries carry: a
    second redemption on it (even one racing the first) is refused with the first one's id. The
    unique constraint decides; a concurrent duplicate waits for the first to commit."""
    redemption = Redemption(
        public_id=uuid.uuid4(), created_at=timezone.now(), store=store, receipt_id=receipt_id, **fields
    )
    if not insert_instance(redemption, skip_conflicts_on=["store", "receipt_id"]):
        existing = Redemption.objects.filter(store=store, receipt_id=receipt_id).values_list("public_id", flat=True)
        raise DuplicateRedemptionReceipt(
            _("Points were already redeemed on this receipt at this store."),
            errors={"receipt_id": [_("Points were already redeemed on this receipt at this store.")]},
            extra={"id": str(existing.first())},
        )
    return redemption


@transaction.atomic
def redemption_cancel(*, redemption: Redemption, store, api_key=None) -> Redemption:
    """Give a redemption's points back, once. Only the store that made it (or a chain-wide key,
    or staff) may: to another store it does not exist."""
    if not may_act_on(store=store, api_key=api_key, made_by_store_id=redemption.store_id):
        raise NotFound(_("No such redemption."))
    member = lock_member(redemption.member_id)
    redemption = Redemption.objects.select_for_update().get(pk=redemption.pk)
    if redemption.status == RedemptionStatus.CANCELLED:
        raise RedemptionAlreadyCancelled("This redemption was already cancelled.")
    debit = LedgerEntry.objects.get(redemption=redemption, kind=EntryKind.REDEEM)
    restore_credit(
        member,
        debit=debit,
        actor=Actor(store=store, api_key=api_key),
        source=Source(redemption=redemption, reason="redemption cancelled"),
    )
    redemption.status = RedemptionStatus.CANCELLED
    redemption.cancelled_at = timezone.now()
    redemption.save(update_fields=["status", "cancelled_at"])
    redemption.member = member
    return redemption


@transaction.atomic
def points_adjust(*, member: Member, points: int, reason: str, staff_user) -> LedgerEntry:
    """A staff correction, always with a reason. A deduction cannot take the balance below zero."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("A reason is required for a points adjustment.", errors={"reason": ["Required."]})
    if staff_user is None:
        raise DomainError("A points adjustment must name the staff user making it.")
    _require_points(points)
    member = lock_member(member)
    actor, source = Actor(staff_user=staff_user), Source(reason=reason)
    if points > 0:
        expires_at = lot_expiry(timezone.now())
        return post_credit(
            member, kind=EntryKind.ADJUST, points=points, expires_at=expires_at, actor=actor, source=source
        )
    return post_debit(member, kind=EntryKind.ADJUST, points=-points, actor=actor, source=source)


@transaction.atomic
def points_bonus(*, member: Member, points: int, reason: str, actor: Actor) -> LedgerEntry:
    """Grant bonus points (campaigns, surprises, compensation). Suspended members get nothing."""
    _require_points(points)
    member = lock_member(member)
    _require_active(member)
    expires_at = lot_expiry(timezone.now())
    return post_credit(
        member, kind=EntryKind.BONUS, points=points, expires_at=expires_at, actor=actor, source=Source(reason=reason)
    )


@dataclass(frozen=True)
class ExpiryResult:
    members: int  # whose points expired
    points: int
    examined: int  # members looked at: those given, or those holding a lot due


EXPIRY_JOB = "expire_points"


@transaction.atomic
def points_expire(
    *, as_of: datetime, member_id_from: int = 0, member_id_to: int | None = None, member_ids: list[int] | None = None
) -> ExpiryResult:
    """Expire every lot due by `as_of` for members with ids in [from, to) (only `member_ids` of
    them, if given): a constant number of statements whatever the number of members. Running it
    again finds nothing left to expire."""
    due = PointsLot.objects.filter(remaining__gt=0, expires_at__lte=as_of, member_id__gte=member_id_from)
    if member_id_to is not None:
        due = due.filter(member_id__lt=member_id_to)
    if member_ids is not None:
        due = due.filter(member_id__in=member_ids)
    holders = Member.objects.filter(pk__in=due.values("member_id") if member_ids is None else member_ids)
    locked = dict(holders.select_for_update().order_by("pk").values_list("pk", "points_balance"))
    if not locked:
        return ExpiryResult(0, 0, 0)
    due = due.filter(member_id__in=locked)
    totals = dict(due.order_by().values("member_id").annotate(total=Sum("remaining")).values_list("member_id", "total"))
    reason = f"lots due by {timezone.localtime(as_of):%Y-%m-%d %H:%M}"
    entries = LedgerEntry.objects.bulk_create(
        LedgerEntry(
            member_id=member_id,
            kind=EntryKind.EXPIRE,
            points=-total,
            balance_after=locked[member_id] - total,
            job=EXPIRY_JOB,
            reason=reason,
        )
        for member_id, total in totals.items()
    )
    entry_by_member = {entry.member_id: entry.pk for entry in entries}
    LotConsumption.objects.bulk_create(
        LotConsumption(entry_id=entry_by_member[member_id], lot_id=lot_id, points=remaining)
        for lot_id, member_id, remaining in due.values_list("pk", "member_id", "remaining")
    )
    # The members are locked: their new balances are known exactly.
    update_many([Member(pk=pk, points_balance=locked[pk] - total) for pk, total in totals.items()], ["points_balance"])
    due.update(remaining=0)
    refs = member_refs(totals)
    events.record_many(
        events.build(
            EventType.POINTS_EXPIRED,
            member=refs[pk],
            data={"points": -total, "balance": locked[pk] - total, "kind": "expire"},
        )
        for pk, total in totals.items()
    )
    return ExpiryResult(len(totals), sum(totals.values()), len(locked))
