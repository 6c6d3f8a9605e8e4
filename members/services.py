"""Member services: enrolment, suspension, and recording purchases and returns.

A purchase and its points are one transaction: the member row is locked first, the purchase and
its lines are written, the points are credited through the ledger, and the member's cached
aggregates are moved, so a balance is never out of step with what explains it.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from events import services as events
from events.types import EventType
from loyalty.errors import Conflict, DomainError, field_error
from loyalty.fastsql import insert_instance, insert_rows, update_instance
from rewards.earning import BasketLine, Earner, EarnQuote, points_for_basket
from rewards.ledger import Actor, lock_member
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
    member_stage_refresh(member=member)
    events.record(
        EventType.MEMBER_ENROLLED, member=member, data={"card_number": member.card_number, "channel": channel}
    )
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
    raise Conflict("Could not allocate a unique card number; please retry.")


def _already_enrolled(existing: Member) -> MemberAlreadyEnrolled:
    return MemberAlreadyEnrolled(
        "A member with this phone number is already enrolled.",
        errors={"phone": ["Already enrolled."]},
        extra={"id": str(existing.public_id), "card_number": existing.card_number},
    )


def _require_plausible_birthday(birthday: date | None) -> None:
    if birthday and not date(1900, 1, 1) <= birthday <= timezone.localdate():
        raise field_error("birthday", "Enter a birthday between 1900 and today.")


def _referrer(referral_code: str) -> Member | None:
    code = (referral_code or "").strip().upper()
    if not code:
        return None
    referrer = Member.objects.filter(referral_code=code).first()
    if referrer is None:
        raise field_error("referral_code", "No member has this referral code.")
    return referrer


@transaction.atomic
def member_suspend(*, member: Member, reason: str) -> Member:
    """ "Fire" a customer (seed 001): purchases still record, but earn, redeem and campaigns stop."""
    reason = (reason or "").strip()
    if not reason:
        raise field_error("reason", "A reason is required to suspend a member.")
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
        raise field_error("currency", f"Only {settings.DEFAULT_CURRENCY} is accepted.", "unsupported_currency")
    if not lines:
        raise field_error("items", "A purchase needs at least one item.")
    lines_total = sum((line.amount for line in lines), Decimal(0))
    if abs(lines_total - total) > TOTAL_TOLERANCE_PER_LINE * len(lines):
        raise field_error("total", f"The items add up to {lines_total.quantize(CENT)}, not {total}.", "total_mismatch")
    now = timezone.now()
    # A till's clock may run a little ahead; beyond that a purchase "in the future" would earn
    # points and spend now but sit outside every window that tier progress and stage count up to.
    if occurred_at > now + timedelta(minutes=settings.PURCHASE_CLOCK_SKEW_MINUTES):
        raise field_error("occurred_at", gettext("A purchase cannot be in the future."), "in_the_future")
    if occurred_at < now - MAX_PURCHASE_AGE:
        raise field_error("occurred_at", "This purchase is too old to record.")


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
    member: Member,
    store: Store,
    receipt_id: str,
    channel: str,
    occurred_at: datetime,
    total: Decimal,
    lines: Sequence[BasketLine],
    currency: str = "",
    api_key=None,
) -> Purchase:
    """Record a receipt and credit its points. A receipt id is accepted once per store.

    In the same transaction the member's aggregates, habits, lapse state, stage and tier move; the
    tier multiplier in force before the purchase applies to its points. Inside a caller's
    transaction no savepoint is taken (two round trips saved on every POS request): a refusal
    (a duplicate receipt) rolls back the caller's transaction, so a caller that wants to carry on
    after one wraps the call in its own `atomic()`.
    """
    currency = currency or settings.DEFAULT_CURRENCY
    _check_basket(currency=currency, total=total, lines=lines, occurred_at=occurred_at)
    with transaction.atomic(savepoint=False):
        return _record(
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


def _record(*, member, store, receipt_id, channel, occurred_at, total, lines, currency, api_key) -> Purchase:
    member = lock_member(member)
    quote = _price(member, store=store, channel=channel, total=total, lines=lines, at=occurred_at)
    purchase = _insert_purchase(
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
    insert_rows(
        PurchaseLine,
        [
            {
                "purchase_id": purchase.pk,
                "sku": li.sku,
                "category": li.category,
                "quantity": li.quantity,
                "unit_price": li.unit_price,
            }
            for li in lines
        ],
        returning_ids=False,
    )
    points_earn_for_purchase(member=member, purchase=purchase, actor=Actor(store=store, api_key=api_key))
    changed = _count_purchase(member, purchase)
    habits_record(member=member, channel=channel, categories={li.category for li in lines}, at=occurred_at)
    changed |= member_won_back(member=member, write=False)
    changed |= member_stage_after_purchase(member=member)
    changed |= tier_after_purchase(member=member)
    # One UPDATE carries every member field the purchase moved (the row is locked).
    update_instance(member, sorted(changed))
    events.record(EventType.PURCHASE_RECORDED, member=member, data=purchase_event_data(purchase, store))
    purchase.member = member
    return purchase


def _insert_purchase(**fields) -> Purchase:
    purchase = Purchase(public_id=uuid.uuid4(), created_at=timezone.now(), **fields)
    if not insert_instance(purchase, skip_conflicts_on=["store", "receipt_id"]):
        raise DuplicateReceipt(
            "This receipt was already recorded for this store.",
            errors={"receipt_id": ["Already recorded for this store."]},
        )
    return purchase


def _count_purchase(member: Member, purchase: Purchase) -> set[str]:
    """Move the member's aggregates in memory; returns the fields to write. The points balance
    was already moved in memory by the earn entry."""
    member.lifetime_spend += purchase.total
    member.purchase_count += 1
    member.first_purchase_at = min(filter(None, [member.first_purchase_at, purchase.occurred_at]))
    member.last_purchase_at = max(filter(None, [member.last_purchase_at, purchase.occurred_at]))
    changed = {"points_balance", "lifetime_spend", "purchase_count", "first_purchase_at", "last_purchase_at"}
    if member.lapse_due_at is None:
        member.lapse_due_at = lapse_due_provisional(member.last_purchase_at, stage_policy())
        changed.add("lapse_due_at")
    # An earlier lapse date is left alone: when it passes, the nightly job sees it was worked out
    # from an older last purchase and moves it on. Not writing an indexed column here lets
    # PostgreSQL update the member row in place (HOT), without touching its indexes.
    return changed


@transaction.atomic
def purchase_return(
    *,
    purchase: Purchase,
    store: Store,
    receipt_id: str,
    amount: Decimal | None = None,
    items: Sequence[ReturnItem] = (),
    api_key=None,
) -> Return:
    """Take goods back, by amount or by items, and take back the points they earned, pro rata.

    Returns of one purchase never add up to more than its total. The points reversed so far are
    recomputed from the cumulative returned amount, so partial returns never drift by rounding and
    a full return reverses exactly what was earned.
    """
    member = lock_member(purchase.member_id)
    purchase = Purchase.objects.select_for_update().get(pk=purchase.pk)
    if (amount is None) == (not items):
        raise field_error("amount", "Give either an amount or items to return.")
    returned_lines = _allocate_items(purchase, items) if items else []
    if items:
        amount = sum((line.unit_price * qty for line, qty in returned_lines), Decimal(0)).quantize(CENT, ROUND_HALF_UP)
    if amount <= 0:
        raise field_error("amount", "The amount to return must be positive.")
    returnable = purchase.total - purchase.returned_amount
    if amount > returnable:
        raise field_error("amount", f"Only {returnable} of this purchase can still be returned.", "over_return")
    returned_after = purchase.returned_amount + amount
    points = _points_to_reverse(purchase, returned_after)
    return_record = _insert_return(purchase=purchase, store=store, receipt_id=receipt_id, amount=amount, points=points)
    _record_returned_lines(return_record, returned_lines)
    Purchase.objects.filter(pk=purchase.pk).update(
        returned_amount=F("returned_amount") + amount, points_reversed=F("points_reversed") + points
    )
    if points:
        points_reverse_for_return(
            member=member, return_record=return_record, points=points, actor=Actor(store=store, api_key=api_key)
        )
    fully_returned = returned_after == purchase.total
    Member.objects.filter(pk=member.pk).update(
        lifetime_spend=F("lifetime_spend") - amount,
        purchase_count=F("purchase_count") - int(fully_returned),
        # The purchase gaps changed: the nightly lapse job works the date out again.
        lapse_due_at=lapse_due_provisional(member.last_purchase_at, stage_policy()),
        lapse_basis_at=None,
    )
    member.lifetime_spend -= amount
    member.purchase_count -= int(fully_returned)
    member_stage_refresh(member=member)
    events.record(EventType.PURCHASE_RETURNED, member=member, data=return_event_data(return_record, store))
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
                f"Cannot return {item.quantity} of {item.sku}: not that many left on this purchase.",
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
            "This return receipt was already recorded for this store.",
            errors={"receipt_id": ["Already recorded for this store."]},
        ) from None


def _record_returned_lines(return_record: Return, returned_lines) -> None:
    if not returned_lines:
        return
    ReturnLine.objects.bulk_create(
        ReturnLine(return_record=return_record, purchase_line=line, quantity=qty) for line, qty in returned_lines
    )
    PurchaseLine.objects.bulk_update({line.pk: line for line, _ in returned_lines}.values(), ["returned_quantity"])


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
