"""Redeeming catalog rewards for points, and the life of a voucher: issued, used once, or
cancelled with its points given back.

Stock is taken with a conditional UPDATE (stock > 0), so it never goes below zero however many
tills redeem at once; points move through the ledger with the member row locked, as always.
"""

import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.utils import timezone
from django.utils.translation import gettext

from events import services as events
from events.types import EventType
from loyalty.errors import Conflict, DomainError, MemberSuspended, NotFound
from members.models import Member
from stores.access import may_act_on
from stores.models import Store
from tiers.selectors import tier_by_id

from .ledger import Actor, Source, lock_member, post_debit, require_balance, restore_credit
from .models import EntryKind, LedgerEntry, Reward, Voucher, VoucherStatus

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12  # 32^12 = 2^60 codes: not guessable at a till


class OutOfStock(Conflict):
    code = "out_of_stock"


class NotEligible(DomainError):
    status_code = 403
    code = "not_eligible"


class VoucherOfOtherStore(DomainError):
    status_code = 403
    code = "other_store"


class VoucherUsed(Conflict):
    code = "voucher_used"


class VoucherCancelled(Conflict):
    code = "voucher_cancelled"


class VoucherExpired(DomainError):
    status_code = 410
    code = "voucher_expired"


def new_voucher_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _available(at: datetime) -> Q:
    return (
        Q(active=True)
        & (Q(available_from__isnull=True) | Q(available_from__lte=at))
        & (Q(available_until__isnull=True) | Q(available_until__gt=at))
        & (Q(stock__isnull=True) | Q(stock__gt=0))
    )


def ineligibility(reward: Reward, member: Member) -> str | None:
    """Why the member cannot have this reward, or None."""
    if member.is_suspended:
        return "The member is suspended."
    if reward.min_tier_id:
        tier, needed = tier_by_id(member.tier_id), tier_by_id(reward.min_tier_id)
        if tier is None or (needed is not None and tier.rank < needed.rank):
            return f"Needs {needed} tier or above."
    if reward.stages and member.stage not in reward.stages:
        return "Not offered at the member's stage."
    return None


def rewards_for_member(*, member: Member, at: datetime | None = None) -> list[Reward]:
    """The catalog rewards this member can redeem now: available, in stock, eligible, affordable."""
    at = at or timezone.now()
    rewards = Reward.objects.filter(_available(at), cost_points__lte=max(member.points_balance, 0))
    return [r for r in rewards.select_related("min_tier") if ineligibility(r, member) is None]


def reward_take_stock(reward: Reward, count: int = 1) -> None:
    """Take `count` items of a reward's stock at once, or none: stock never goes below zero, also
    under concurrency (one conditional UPDATE). A reward without stock is unlimited."""
    if reward.stock is None:
        return
    if not Reward.objects.filter(pk=reward.pk, stock__gte=count).update(stock=F("stock") - count):
        raise OutOfStock("This reward is out of stock." if count == 1 else "Not enough stock for this run.")


def _insert_voucher(**fields) -> Voucher:
    for _ in range(5):
        try:
            with transaction.atomic():
                return Voucher.objects.create(code=new_voucher_code(), **fields)
        except IntegrityError:
            continue
    raise Conflict("Could not allocate a voucher code; please retry.")


@transaction.atomic
def reward_redeem(
    *, reward: Reward, member: Member, store: Store | None = None, api_key=None, staff_user=None
) -> Voucher:
    """Exchange points for a voucher. Refused (and nothing written) if the member is not eligible,
    the reward is out of stock or unavailable, or the points do not cover it."""
    member = lock_member(member)
    # One read for the reward and its availability: two reads could see the last item taken in
    # between and call an out-of-stock reward "not available" (403 instead of 409).
    reward = Reward.objects.annotate(is_available=ExpressionWrapper(_available(timezone.now()), BooleanField())).get(
        pk=reward.pk
    )
    if member.is_suspended:
        raise MemberSuspended("This member is suspended and cannot use points.")
    if not reward.is_available:
        raise (
            OutOfStock("This reward is not available.")
            if reward.stock == 0
            else NotEligible("This reward is not available.")
        )
    reason = ineligibility(reward, member)
    if reason:
        raise NotEligible(reason)
    require_balance(member, reward.cost_points)
    reward_take_stock(reward)
    voucher = _insert_voucher(
        reward=reward,
        member=member,
        points_cost=reward.cost_points,
        issued_store=store,
        expires_at=timezone.now() + timedelta(days=reward.voucher_valid_days),
    )
    post_debit(
        member,
        kind=EntryKind.REDEEM,
        points=reward.cost_points,
        actor=Actor(store=store, api_key=api_key, staff_user=staff_user, job="" if store or staff_user else "portal"),
        source=Source(voucher=voucher, reason=f"Reward: {reward.name}"),
    )
    events.record(EventType.VOUCHER_ISSUED, member=member, data=voucher_event_data(voucher, points=reward.cost_points))
    voucher.member = member
    return voucher


def voucher_get(*, code: str) -> Voucher:
    voucher = Voucher.objects.select_related("reward", "member").filter(code=str(code).strip().upper()).first()
    if voucher is None:
        raise NotFound("No voucher with this code.")
    return voucher


def _require_usable(voucher: Voucher, at: datetime) -> None:
    if voucher.status == VoucherStatus.USED:
        raise VoucherUsed("This voucher was already used.", extra={"used_at": voucher.used_at.isoformat()})
    if voucher.status == VoucherStatus.CANCELLED:
        raise VoucherCancelled("This voucher was cancelled.")
    if voucher.expires_at <= at:
        raise VoucherExpired("This voucher has expired.")


@transaction.atomic
def voucher_consume(*, voucher: Voucher, store: Store, receipt_id: str) -> Voucher:
    """Use a voucher once: 409 if it was used or cancelled, 410 if it expired."""
    # Only the voucher row is locked: locking its reward and member too (the joined rows) made a
    # consume and a redeem or cancel at another till wait on each other in opposite orders.
    voucher = Voucher.objects.select_for_update(of=("self",)).select_related("reward", "member").get(pk=voucher.pk)
    now = timezone.now()
    _require_usable(voucher, now)
    voucher.status, voucher.used_at, voucher.used_store, voucher.used_receipt_id = (
        VoucherStatus.USED,
        now,
        store,
        receipt_id,
    )
    voucher.save(update_fields=["status", "used_at", "used_store", "used_receipt_id"])
    events.record(EventType.VOUCHER_CONSUMED, member=voucher.member, data=voucher_event_data(voucher, store=store))
    return voucher


@transaction.atomic
def voucher_cancel(*, voucher: Voucher, store: Store | None = None, api_key=None, staff_user=None) -> Voucher:
    """Cancel an unused voucher: its points come back (once) and its stock is returned. Only the
    store that issued it (or a chain-wide key, or staff) may: any store can see and use a voucher,
    but undoing a sale is the issuing store's business. A campaign's voucher has no issuing store."""
    if not may_act_on(store=store, api_key=api_key, made_by_store_id=voucher.issued_store_id):
        raise VoucherOfOtherStore(
            gettext("This voucher was issued by another store (or by a campaign); cancel it there or at head office.")
        )
    member = lock_member(voucher.member_id)
    voucher = Voucher.objects.select_for_update(of=("self",)).select_related("reward").get(pk=voucher.pk)
    if voucher.status != VoucherStatus.ISSUED:
        _require_usable(voucher, timezone.now())
    debit = LedgerEntry.objects.filter(voucher=voucher, kind=EntryKind.REDEEM).first()
    if debit is not None:
        restore_credit(
            member,
            debit=debit,
            actor=Actor(
                store=store, api_key=api_key, staff_user=staff_user, job="" if store or staff_user else "portal"
            ),
            source=Source(voucher=voucher, reason=f"Voucher {voucher.code} cancelled"),
        )
    if voucher.reward.stock is not None:
        Reward.objects.filter(pk=voucher.reward_id).update(stock=F("stock") + 1)
    voucher.status, voucher.cancelled_at = VoucherStatus.CANCELLED, timezone.now()
    voucher.save(update_fields=["status", "cancelled_at"])
    events.record(
        EventType.VOUCHER_CANCELLED,
        member=member,
        data=voucher_event_data(voucher, points=-(debit.points if debit else 0)),
    )
    voucher.member = member
    return voucher


def voucher_event_data(voucher: Voucher, *, points: int | None = None, store: Store | None = None) -> dict:
    data = {"code": voucher.code, "reward": voucher.reward.name}
    if points is not None:
        data["points"] = points
    if store is not None:
        data["store"] = store.code
    return data
