"""Member services: enrolment, suspension, and recording purchases and returns.

A purchase and its points are one transaction: the member row is locked first, the purchase and
its lines are written, the points are credited through the ledger, and the member's cached
aggregates are moved, so a balance is never out of step with what explains it. The parts (ledger,
habits, journey, tiers) decide; one `UnitOfWork` writes (see docs/architecture.md, "How a
purchase flows").
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import Conflict, DomainError, field_error
from core.unit_of_work import UnitOfWork
from events import services as events
from events.types import EventType
from rewards.earning import BasketLine, Earner, EarnQuote, points_for_basket
from rewards.ledger import Actor
from rewards.services import points_earn_for_purchase, points_reverse_for_return
from stores.models import Channel, Store
from tiers.selectors import tier_by_id
from tiers.services import tier_after_purchase

from .identifiers import InvalidPhone, new_card_number, new_referral_code, normalize_phone
from .journey import (
    habits_record,
    lapse_due_provisional,
    member_stage_after_purchase,
    member_stage_refresh,
    member_won_back,
    stage_policy,
)
from .locking import member_lock
from .models import Member, MemberStatus, Purchase, PurchaseLine, Return, ReturnLine

CENT = Decimal("0.01")
# A POS may total a basket with a different rounding than ours; a cent per line is tolerated.
TOTAL_TOLERANCE_PER_LINE = CENT
MAX_PURCHASE_AGE = timedelta(days=366 * 3)
SUSPENDED_NOTE = "The member is suspended; purchases are recorded but earn no points."


class MemberAlreadyEnrolled(Conflict):
    code = "already_enrolled"


class DuplicateReceipt(Conflict):
    code = "duplicate_receipt"


# --- members -------------------------------------------------------------------------------


@transaction.atomic
def member_enroll(
    *,
    phone: str,
    email: str = "",
    name: str = "",
    birthday: date | None = None,
    referral_code: str = "",
    consent_marketing: bool = False,
    store: Store | None = None,
    channel: str = Channel.STORE,
) -> Member:
    """Enrol a person. A phone already enrolled is refused with the existing member's id."""
    try:
        phone = normalize_phone(phone)
    except InvalidPhone as exc:
        raise field_error("phone", str(exc)) from exc
    _require_plausible_birthday(birthday)
    referrer = _referrer(referral_code)
    existing = Member.objects.filter(phone=phone).first()
    if existing:
        raise _already_enrolled(existing)
    fields = dict(
        phone=phone,
        email=email.strip().lower(),
        name=name.strip(),
        birthday=birthday,
        referred_by=referrer,
        consent_email=consent_marketing,
        consent_sms=consent_marketing,
        consent_updated_at=timezone.now() if consent_marketing else None,
        enrolled_store=store,
        enrolled_channel=channel,
    )
    member = _insert_member(fields)
    # The stage row (if any) and the event travel together, in one round trip.
    work = UnitOfWork()
    member_stage_refresh(member=member, work=work)
    work.insert(
        events.build(
            EventType.MEMBER_ENROLLED, member=member, data={"card_number": member.card_number, "channel": channel}
        )
    )
    work.flush()
    return member


def _insert_member(fields: dict) -> Member:
    for _ in range(5):
        try:
            with transaction.atomic():
                return Member.objects.create(card_number=new_card_number(), referral_code=new_referral_code(), **fields)
        except IntegrityError:
            existing = Member.objects.filter(phone=fields["phone"]).first()
            if existing:
                raise _already_enrolled(existing) from None
    raise Conflict(gettext("Could not allocate a unique card number; please retry."))


def _already_enrolled(existing: Member) -> MemberAlreadyEnrolled:
    return MemberAlreadyEnrolled(
        gettext("A member with this phone number is already enrolled."),
        errors={"phone": [gettext("Already enrolled.")]},
        extra={"id": str(existing.public_id), "card_number": existing.card_number},
    )


def _require_plausible_birthday(birthday: date | None) -> None:
    if birthday and not date(1900, 1, 1) <= birthday <= timezone.localdate():
        raise field_error("birthday", gettext("Enter a birthday between 1900 and today."))


def _referrer(referral_code: str) -> Member | None:
    code = (referral_code or "").strip().upper()
    if not code:
        return None
    referrer = Member.objects.filter(referral_code=code).first()
    if referrer is None:
        raise field_error("referral_code", gettext("No member has this referral code."))
    return referrer


@transaction.atomic
def member_suspend(*, member: Member, reason: str) -> Member:
    """ "Fire" a customer (seed 001): purchases still record, but earn, redeem and campaigns stop."""
    reason = (reason or "").strip()
    if not reason:
        raise field_error("reason", gettext("A reason is required to suspend a member."))
    Member.objects.filter(pk=member.pk).update(
        status=MemberStatus.SUSPENDED, suspended_reason=reason, suspended_at=timezone.now()
    )
    member.refresh_from_db()
    events.record(EventType.MEMBER_SUSPENDED, member=member, data={"reason": reason})
    return member


@transaction.atomic
def member_reinstate(*, member: Member) -> Member:
    Member.objects.filter(pk=member.pk).update(status=MemberStatus.ACTIVE, suspended_reason="", suspended_at=None)
    member.refresh_from_db()
    events.record(EventType.MEMBER_REINSTATED, member=member)
    return member


# --- purchases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnItem:
    sku: str
    quantity: int


def _check_basket(*, currency: str, total: Decimal, lines: Sequence[BasketLine], occurred_at: datetime) -> None:
    if currency.upper() != settings.DEFAULT_CURRENCY:
        raise field_error(
            "currency",
            gettext("Only %(currency)s is accepted.") % {"currency": settings.DEFAULT_CURRENCY},
            "unsupported_currency",
        )
    if not lines:
        raise field_error("items", gettext("A purchase needs at least one item."))
    lines_total = sum((line.amount for line in lines), Decimal(0))
    if abs(lines_total - total) > TOTAL_TOLERANCE_PER_LINE * len(lines):
        raise field_error(
            "total",
            gettext("The items add up to %(items)s, not %(total)s.")
            % {"items": lines_total.quantize(CENT), "total": total},
            "total_mismatch",
        )
    now = timezone.now()
    # A till's clock may run a little ahead; beyond that a purchase "in the future" would earn
    # points and spend now but sit outside every window that tier progress and stage count up to.
    if occurred_at > now + timedelta(minutes=settings.PURCHASE_CLOCK_SKEW_MINUTES):
        raise field_error("occurred_at", gettext("A purchase cannot be in the future."), "in_the_future")
    if occurred_at < now - MAX_PURCHASE_AGE:
        raise field_error("occurred_at", gettext("This purchase is too old to record."))


def purchase_quote(
    *,
    member: Member | None,
    store: Store,
    channel: str,
    total: Decimal,
    lines: Sequence[BasketLine],
    occurred_at: datetime,
    currency: str,
) -> tuple[int, str]:
    """What a basket would earn, writing nothing."""
    _check_basket(currency=currency, total=total, lines=lines, occurred_at=occurred_at)
    quote = _price(member, store=store, channel=channel, total=total, lines=lines, at=occurred_at)
    return quote.points, quote.note


def _price(member: Member | None, *, store: Store, channel: str, total: Decimal, lines, at: datetime) -> EarnQuote:
    if member is not None and member.is_suspended:
        return EarnQuote(0, SUSPENDED_NOTE)
    return points_for_basket(
        lines=lines, total=total, channel=channel, store_id=store.pk, at=at, earner=_earner(member)
    )


def _earner(member: Member | None) -> Earner:
    if member is None:
        return Earner()
    tier = tier_by_id(member.tier_id)
    return Earner(
        member_id=member.pk,
        tier_rank=tier.rank if tier else None,
        stage=member.stage,
        tier_multiplier=tier.earn_multiplier if tier else Decimal(1),
    )


def purchase_record(
    *,
    member: Member | str,
    store: Store,
    receipt_id: str,
    channel: str,
    occurred_at: datetime,
    total: Decimal,
    lines: Sequence[BasketLine],
    currency: str = "",
    api_key=None,
    work: UnitOfWork | None = None,
) -> Purchase:
    """Record a receipt and credit its points. A receipt id is accepted once per store.

    `member` is a member or a reference (public id or card number, as a till sends it); either
    way the row is read and locked here, in one statement. In the same transaction the member's
    aggregates, habits, lapse state, stage and tier move; the tier multiplier in force before the
    purchase applies to its points. The rows go through `work`: given one (the idempotent POS
    request), the last writes are left for its flush, which carries the stored answer too;
    without, they are sent before returning.

    Inside a caller's transaction no savepoint is taken (two round trips saved on every POS
    request): a refusal (a duplicate receipt) rolls back the caller's transaction, so a caller
    that wants to carry on after one wraps the call in its own `atomic()`.
    """
    currency = currency or settings.DEFAULT_CURRENCY
    _check_basket(currency=currency, total=total, lines=lines, occurred_at=occurred_at)
    own = work is None
    work = UnitOfWork() if own else work
    with transaction.atomic(savepoint=False):
        member = member_lock(reference=member) if isinstance(member, str) else member_lock(member)
        purchase = _record(
            work,
            member=member,
            store=store,
            receipt_id=receipt_id,
            channel=channel,
            occurred_at=occurred_at,
            total=total,
            lines=lines,
            currency=currency,
            api_key=api_key,
        )
        if own:
            work.flush()
    return purchase


def _record(work: UnitOfWork, *, member, store, receipt_id, channel, occurred_at, total, lines, currency, api_key):
    quote = _price(member, store=store, channel=channel, total=total, lines=lines, at=occurred_at)
    purchase = Purchase(
        public_id=uuid.uuid4(),
        created_at=timezone.now(),
        member=member,
        store=store,
        receipt_id=receipt_id,
        channel=channel,
        occurred_at=occurred_at,
        currency=currency.upper(),
        total=total,
        points_earned=quote.points,
        base_points=quote.base_points,
        earn_note=quote.note,
    )
    if not work.insert_returning_id(purchase, skip_conflicts=True):
        raise DuplicateReceipt(
            gettext("This receipt was already recorded for this store."),
            errors={"receipt_id": [gettext("Already recorded for this store.")]},
        )
    work.insert(
        *(
            PurchaseLine(
                purchase=purchase, sku=li.sku, category=li.category, quantity=li.quantity, unit_price=li.unit_price
            )
            for li in lines
        )
    )
    points_earn_for_purchase(member=member, purchase=purchase, actor=Actor(store=store, api_key=api_key), work=work)
    _count_purchase(work, member, purchase)
    habits_record(member=member, work=work, channel=channel, categories={li.category for li in lines}, at=occurred_at)
    member_won_back(member=member, work=work)
    member_stage_after_purchase(member=member, work=work)
    tier_after_purchase(member=member, work=work)
    work.insert(events.build(EventType.PURCHASE_RECORDED, member=member, data=purchase_event_data(purchase, store)))
    return purchase


def _count_purchase(work: UnitOfWork, member: Member, purchase: Purchase) -> None:
    """Move the member's aggregates (the points balance is the ledger's)."""
    member.lifetime_spend += purchase.total
    member.purchase_count += 1
    member.first_purchase_at = min(filter(None, [member.first_purchase_at, purchase.occurred_at]))
    member.last_purchase_at = max(filter(None, [member.last_purchase_at, purchase.occurred_at]))
    work.save_fields(member, "lifetime_spend", "purchase_count", "first_purchase_at", "last_purchase_at")
    if member.lapse_due_at is None:
        member.lapse_due_at = lapse_due_provisional(member.last_purchase_at, stage_policy())
        work.save_fields(member, "lapse_due_at")
    # An earlier lapse date is left alone: when it passes, the nightly job sees it was worked out
    # from an older last purchase and moves it on. Not writing an indexed column here lets
    # PostgreSQL update the member row in place (HOT), without touching its indexes.


@transaction.atomic
def purchase_return(
    *,
    purchase: Purchase,
    store: Store,
    receipt_id: str,
    amount: Decimal | None = None,
    items: Sequence[ReturnItem] = (),
    api_key=None,
    work: UnitOfWork | None = None,
) -> Return:
    """Take goods back, by amount or by items, and take back the points they earned, pro rata.

    Returns of one purchase never add up to more than its total. The points reversed so far are
    recomputed from the cumulative returned amount, so partial returns never drift by rounding and
    a full return reverses exactly what was earned. With `work` the last writes are left to the
    caller's flush.
    """
    own = work is None
    work = UnitOfWork() if own else work
    member = member_lock(purchase.member_id)
    purchase = Purchase.objects.select_for_update(of=("self",)).get(pk=purchase.pk)
    if (amount is None) == (not items):
        raise field_error("amount", gettext("Give either an amount or items to return."))
    returned_lines = _allocate_items(purchase, items) if items else []
    if items:
        amount = sum((line.unit_price * qty for line, qty in returned_lines), Decimal(0)).quantize(CENT, ROUND_HALF_UP)
    if amount <= 0:
        raise field_error("amount", gettext("The amount to return must be positive."))
    returnable = purchase.total - purchase.returned_amount
    if amount > returnable:
        raise field_error(
            "amount",
            gettext("Only %(amount)s of this purchase can still be returned.") % {"amount": returnable},
            "over_return",
        )
    returned_after = purchase.returned_amount + amount
    points = _points_to_reverse(purchase, returned_after)
    return_record = _insert_return(purchase=purchase, store=store, receipt_id=receipt_id, amount=amount, points=points)
    _record_returned_lines(work, return_record, returned_lines)
    purchase.returned_amount, purchase.points_reversed = returned_after, purchase.points_reversed + points
    # Held, not saved: the stage figures below read it, in the same round trip.
    work.update(
        Purchase.objects.filter(pk=purchase.pk),
        returned_amount=returned_after,
        points_reversed=purchase.points_reversed,
    )
    if points:
        actor = Actor(store=store, api_key=api_key)
        points_reverse_for_return(member=member, return_record=return_record, points=points, actor=actor, work=work)
    fully_returned = returned_after == purchase.total
    member.lifetime_spend -= amount
    member.purchase_count -= int(fully_returned)
    # The purchase gaps changed: the nightly lapse job works the date out again.
    member.lapse_due_at = lapse_due_provisional(member.last_purchase_at, stage_policy())
    member.lapse_basis_at = None
    work.save_fields(member, "lifetime_spend", "purchase_count", "lapse_due_at", "lapse_basis_at")
    member_stage_refresh(member=member, work=work)
    work.insert(events.build(EventType.PURCHASE_RETURNED, member=member, data=return_event_data(return_record, store)))
    if own:
        work.flush()
    return_record.purchase.member = member
    return return_record


def _points_to_reverse(purchase: Purchase, returned_after: Decimal) -> int:
    if returned_after >= purchase.total:
        target = purchase.points_earned
    else:
        share = Decimal(purchase.points_earned) * returned_after / purchase.total
        target = int(share.quantize(Decimal(1), ROUND_HALF_UP))
    return max(0, target - purchase.points_reversed)


def _allocate_items(purchase: Purchase, items: Sequence[ReturnItem]) -> list[tuple[PurchaseLine, int]]:
    lines = list(purchase.lines.select_for_update().order_by("pk"))
    allocated = []
    for index, item in enumerate(items):
        wanted = item.quantity
        for line in (line for line in lines if line.sku == item.sku):
            take = min(wanted, line.quantity - line.returned_quantity)
            if take > 0:
                line.returned_quantity += take
                allocated.append((line, take))
                wanted -= take
        if wanted:
            raise DomainError(
                gettext("Cannot return %(quantity)s of %(sku)s: not that many left on this purchase.")
                % {"quantity": item.quantity, "sku": item.sku},
                errors={"items": {str(index): {"quantity": ["More than was bought and not yet returned."]}}},
            )
    return allocated


def _insert_return(*, purchase, store, receipt_id, amount, points) -> Return:
    try:
        with transaction.atomic():
            return Return.objects.create(
                purchase=purchase, store=store, receipt_id=receipt_id, amount=amount, points_reversed=points
            )
    except IntegrityError:
        raise DuplicateReceipt(
            gettext("This return receipt was already recorded for this store."),
            errors={"receipt_id": [gettext("Already recorded for this store.")]},
        ) from None


def _record_returned_lines(work: UnitOfWork, return_record: Return, returned_lines) -> None:
    work.insert(
        *(ReturnLine(return_record=return_record, purchase_line=line, quantity=qty) for line, qty in returned_lines)
    )
    for line, _ in returned_lines:
        work.save_fields(line, "returned_quantity")


def purchase_event_data(purchase: Purchase, store: Store) -> dict:
    return {
        "purchase_id": str(purchase.public_id),
        "store": store.code,
        "receipt_id": purchase.receipt_id,
        "total": str(purchase.total),
        "currency": purchase.currency,
        "points_earned": purchase.points_earned,
    }


def return_event_data(return_record: Return, store: Store) -> dict:
    return {
        "purchase_id": str(return_record.purchase.public_id),
        "store": store.code,
        "receipt_id": return_record.receipt_id,
        "amount": str(return_record.amount),
        "points_reversed": return_record.points_reversed,
    }
