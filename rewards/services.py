"""Points services: redeem, cancel a redemption, staff adjustments, bonuses and expiry.

Earning on a purchase and reversing on a return are called by the purchase services in
`members.services`, inside their transaction.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from core.errors import Conflict, DomainError, MemberSuspended, NotFound
from core.unit_of_work import UnitOfWork
from events import services as events
from events.types import EventType
from members.locking import member_lock, members_locked
from members.models import Member, Purchase, Return
from stores.access import may_act_on

from .earning import earning_setup, lot_expiry
from .ledger import Actor, Source, post_credit, post_debit, post_expiry_many, require_balance, restore_credit
from .models import EntryKind, LedgerEntry, PointsLot, Redemption, RedemptionStatus

MAX_POINTS_PER_OPERATION = 10_000_000


class RedemptionAlreadyCancelled(Conflict):
    code = "already_cancelled"


class DuplicateRedemptionReceipt(Conflict):
    code = "duplicate_receipt"


def _require_active(member: Member) -> None:
    if member.is_suspended:
        raise MemberSuspended(gettext("This member is suspended and cannot use points."))


def _require_points(points: int, field: str = "points") -> None:
    if not 0 < abs(points) <= MAX_POINTS_PER_OPERATION:
        raise DomainError(
            gettext("Points must be between 1 and %(max)d.") % {"max": MAX_POINTS_PER_OPERATION},
            errors={field: [gettext("Must be between 1 and %(max)d.") % {"max": MAX_POINTS_PER_OPERATION}]},
        )


def points_earn_for_purchase(
    *, member: Member, purchase: Purchase, actor: Actor, work: UnitOfWork
) -> LedgerEntry | None:
    """Credit what `purchase.points_earned` says, in a lot that expires per the policy, through
    the purchase's unit of work (the balance goes out with the member's other fields)."""
    if purchase.points_earned <= 0:
        return None
    return post_credit(
        member,
        work=work,
        kind=EntryKind.EARN,
        points=purchase.points_earned,
        expires_at=lot_expiry(purchase.occurred_at),
        actor=actor,
        source=Source(purchase=purchase),
    )


def points_reverse_for_return(
    *, member: Member, return_record: Return, points: int, actor: Actor, work: UnitOfWork
) -> LedgerEntry:
    """Take back `points` for a return, from the purchase's own lot first.

    If the member already spent them, the balance goes below zero; see `post_debit`.
    """
    purchase = return_record.purchase
    own_lot = PointsLot.objects.filter(entry__purchase=purchase, entry__kind=EntryKind.EARN).first()
    return post_debit(
        member,
        work=work,
        kind=EntryKind.REVERSE,
        points=points,
        actor=actor,
        source=Source(purchase=purchase, return_record=return_record, reason="return"),
        allow_negative=True,
        first_lot=own_lot,
    )


def points_redeem(
    *,
    member: Member | str,
    points: int,
    receipt_id: str,
    store,
    api_key=None,
    work: UnitOfWork | None = None,
) -> Redemption:
    """Pay with points at a till. Never overdraws: the member row is locked while checking.

    `member` is a member or a reference (public id or card number), resolved and locked here.
    With `work` the last writes are left to the caller's flush (the stored answer joins them)."""
    _require_points(points)
    with transaction.atomic(savepoint=work is None):
        own = work is None
        work = UnitOfWork() if own else work
        member = member_lock(reference=member) if isinstance(member, str) else member_lock(member)
        _require_active(member)
        require_balance(member, points)
        value = (Decimal(points) * earning_setup().policy.point_value).quantize(Decimal("0.01"), ROUND_HALF_UP)
        redemption = _insert_redemption(
            work, member=member, store=store, receipt_id=receipt_id, points=points, value=value
        )
        actor = Actor(store=store, api_key=api_key)
        source = Source(redemption=redemption)
        post_debit(member, work=work, kind=EntryKind.REDEEM, points=points, actor=actor, source=source)
        if own:
            work.flush()
    redemption.member = member
    return redemption


def _insert_redemption(work: UnitOfWork, *, store, receipt_id: str, **fields) -> Redemption:
    """A receipt pays with points once per store, whatever Idempotency-Key its retries carry: a
    second redemption on it (even one racing the first) is refused with the first one's id. The
    unique constraint decides; a concurrent duplicate waits for the first to commit."""
    redemption = Redemption(
        public_id=uuid.uuid4(), created_at=timezone.now(), store=store, receipt_id=receipt_id, **fields
    )
    if not work.insert_returning_id(redemption, skip_conflicts=True):
        existing = Redemption.objects.filter(store=store, receipt_id=receipt_id).values_list("public_id", flat=True)
        raise DuplicateRedemptionReceipt(
            _("Points were already redeemed on this receipt at this store."),
            errors={"receipt_id": [_("Points were already redeemed on this receipt at this store.")]},
            extra={"id": str(existing.first())},
        )
    return redemption


@transaction.atomic
def redemption_cancel(*, redemption: Redemption, store, api_key=None, work: UnitOfWork | None = None) -> Redemption:
    """Give a redemption's points back, once. Only the store that made it (or a chain-wide key,
    or staff) may: to another store it does not exist. With `work` the last writes are left to
    the caller's flush."""
    if not may_act_on(store=store, api_key=api_key, made_by_store_id=redemption.store_id):
        raise NotFound(_("No such redemption."))
    own = work is None
    work = UnitOfWork() if own else work
    member = member_lock(redemption.member_id)
    redemption = Redemption.objects.select_for_update(of=("self",)).get(pk=redemption.pk)
    if redemption.status == RedemptionStatus.CANCELLED:
        raise RedemptionAlreadyCancelled("This redemption was already cancelled.")
    debit = LedgerEntry.objects.get(redemption=redemption, kind=EntryKind.REDEEM)
    restore_credit(
        member,
        work=work,
        debit=debit,
        actor=Actor(store=store, api_key=api_key),
        source=Source(redemption=redemption, reason="redemption cancelled"),
    )
    redemption.status = RedemptionStatus.CANCELLED
    redemption.cancelled_at = timezone.now()
    work.save_fields(redemption, "status", "cancelled_at")
    if own:
        work.flush()
    redemption.member = member
    return redemption


@transaction.atomic
def points_adjust(*, member: Member, points: int, reason: str, staff_user) -> LedgerEntry:
    """A staff correction, always with a reason. A deduction cannot take the balance below zero."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            gettext("A reason is required for a points adjustment."), errors={"reason": [gettext("Required.")]}
        )
    if staff_user is None:
        raise DomainError(gettext("A points adjustment must name the staff user making it."))
    _require_points(points)
    member, work = member_lock(member), UnitOfWork()
    actor, source = Actor(staff_user=staff_user), Source(reason=reason)
    if points > 0:
        expires_at = lot_expiry(timezone.now())
        entry = post_credit(
            member, work=work, kind=EntryKind.ADJUST, points=points, expires_at=expires_at, actor=actor, source=source
        )
    else:
        entry = post_debit(member, work=work, kind=EntryKind.ADJUST, points=-points, actor=actor, source=source)
    work.flush()
    return entry


@transaction.atomic
def points_bonus(*, member: Member, points: int, reason: str, actor: Actor) -> LedgerEntry:
    """Grant bonus points (campaigns, surprises, compensation). Suspended members get nothing."""
    _require_points(points)
    member, work = member_lock(member), UnitOfWork()
    _require_active(member)
    expires_at = lot_expiry(timezone.now())
    entry = post_credit(
        member,
        work=work,
        kind=EntryKind.BONUS,
        points=points,
        expires_at=expires_at,
        actor=actor,
        source=Source(reason=reason),
    )
    work.flush()
    return entry


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
    rows = list(members_locked(holders).values_list("pk", "points_balance", "public_id"))
    locked = {pk: balance for pk, balance, _ in rows}
    refs = {pk: events.MemberRef(pk, public_id) for pk, _, public_id in rows}
    if not locked:
        return ExpiryResult(0, 0, 0)
    work = UnitOfWork()
    reason = f"lots due by {timezone.localtime(as_of):%Y-%m-%d %H:%M}"
    totals = post_expiry_many(
        due.filter(member_id__in=locked), work=work, balances=locked, job=EXPIRY_JOB, reason=reason
    )
    work.insert(
        *(
            events.build(
                EventType.POINTS_EXPIRED,
                member=refs[pk],
                data={"points": -total, "balance": locked[pk] - total, "kind": "expire"},
            )
            for pk, total in sorted(totals.items())
        )
    )
    work.flush()
    return ExpiryResult(len(totals), sum(totals.values()), len(locked))
