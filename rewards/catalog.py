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

from core.errors import Conflict, DomainError, MemberSuspended, NotFound
from core.unit_of_work import UnitOfWork
from events import services as events
from events.types import EventType
from members.locking import member_lock
from members.models import Member
from stores.access import may_act_on
from stores.models import Store
from tiers.selectors import tier_by_id

from .ledger import Actor, Source, post_debit, require_balance, restore_credit
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
        raise OutOfStock(
            gettext("This reward is out of stock.") if count == 1 else gettext("Not enough stock for this run.")
        )


def _insert_voucher(**fields) -> Voucher:
    for _ in range(5):
        try:
            with transaction.atomic():
                return Voucher.objects.create(code=new_voucher_code(), **fields)
        except IntegrityError:
            continue
    raise Conflict(gettext("Could not allocate a voucher code; please retry."))


@transaction.atomic
def reward_redeem(
    *,
    reward: Reward,
    member: Member | str,
    store: Store | None = None,
    api_key=None,
    staff_user=None,
    work: UnitOfWork | None = None,
) -> Voucher:
    """Exchange points for a voucher. Refused (and nothing written) if the member is not eligible,
    the reward is out of stock or unavailable, or the points do not cover it. `member` is a member
    or a reference (public id or card number), resolved and locked here; with `work` the last
    writes are left to the caller's flush."""
    own = work is None
    work = UnitOfWork() if own else work
    member = member_lock(reference=member) if isinstance(member, str) else member_lock(member)
    # One read for the reward and its availability: two reads could see the last item taken in
    # between and call an out-of-stock reward "not available" (403 instead of 409).
    reward = Reward.objects.annotate(is_available=ExpressionWrapper(_available(timezone.now()), BooleanField())).get(
        pk=reward.pk
    )
    if member.is_suspended:
        raise MemberSuspended(gettext("This member is suspended and cannot use points."))
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
        work=work,
        kind=EntryKind.REDEEM,
        points=reward.cost_points,
        actor=Actor(store=store, api_key=api_key, staff_user=staff_user, job="" if store or staff_user else "portal"),
        source=Source(voucher=voucher, reason=f"Reward: {reward.name}"),
    )
    work.insert(
        events.build(
            EventType.VOUCHER_ISSUED, member=member, data=voucher_event_data(voucher, points=reward.cost_points)
        )
    )
    if own:
        work.flush()
    voucher.member = member
    return voucher


def voucher_get(*, code: str) -> Voucher:
    voucher = Voucher.objects.select_related("reward", "member").filter(code=str(code).strip().upper()).first()
    if voucher is None:
        raise NotFound(gettext("No voucher with this code."))
    return voucher


def _require_usable(voucher: Voucher, at: datetime) -> None:
    if voucher.status == VoucherStatus.USED:
        raise VoucherUsed("This voucher was already used.", extra={"used_at": voucher.used_at.isoformat()})
    if voucher.status == VoucherStatus.CANCELLED:
        raise VoucherCancelled("This voucher was cancelled.")
    if voucher.expires_at <= at:
        raise VoucherExpired("This voucher has expired.")


@transaction.atomic
def voucher_consume(*, voucher: Voucher, store: Store, receipt_id: str, work: UnitOfWork | None = None) -> Voucher:
    """Use a voucher once: 409 if it was used or cancelled, 410 if it expired. The member is
    locked first, then the voucher row alone (the lock order of `members.locking`), so a consume
    and a redeem or cancel at another till never wait on each other in opposite orders. With
    `work` the write is left to the caller's flush."""
    own = work is None
    work = UnitOfWork() if own else work
    member = member_lock(voucher.member_id)
    voucher = Voucher.objects.select_for_update(of=("self",)).select_related("reward").get(pk=voucher.pk)
    voucher.member = member
    now = timezone.now()
    _require_usable(voucher, now)
    voucher.status, voucher.used_at, voucher.used_store, voucher.used_receipt_id = (
        VoucherStatus.USED,
        now,
        store,
        receipt_id,
    )
    work.save_fields(voucher, "status", "used_at", "used_store", "used_receipt_id")
    work.insert(events.build(EventType.VOUCHER_CONSUMED, member=member, data=voucher_event_data(voucher, store=store)))
    if own:
        work.flush()
    return voucher


@transaction.atomic
def voucher_cancel(
    *, voucher: Voucher, store: Store | None = None, api_key=None, staff_user=None, work: UnitOfWork | None = None
) -> Voucher:
    """Cancel an unused voucher: its points come back (once) and its stock is returned. Only the
    store that issued it (or a chain-wide key, or staff) may: any store can see and use a voucher,
    but undoing a sale is the issuing store's business. A campaign's voucher has no issuing store."""
    if not may_act_on(store=store, api_key=api_key, made_by_store_id=voucher.issued_store_id):
        raise VoucherOfOtherStore(
            gettext("This voucher was issued by another store (or by a campaign); cancel it there or at head office.")
        )
    own = work is None
    work = UnitOfWork() if own else work
    member = member_lock(voucher.member_id)
    voucher = Voucher.objects.select_for_update(of=("self",)).select_related("reward").get(pk=voucher.pk)
    if voucher.status != VoucherStatus.ISSUED:
        _require_usable(voucher, timezone.now())
    debit = LedgerEntry.objects.filter(voucher=voucher, kind=EntryKind.REDEEM).first()
    if debit is not None:
        restore_credit(
            member,
            work=work,
            debit=debit,
            actor=Actor(
                store=store, api_key=api_key, staff_user=staff_user, job="" if store or staff_user else "portal"
            ),
            source=Source(voucher=voucher, reason=f"Voucher {voucher.code} cancelled"),
        )
    if voucher.reward.stock is not None:
        work.update(Reward.objects.filter(pk=voucher.reward_id), stock=F("stock") + 1)
    voucher.status, voucher.cancelled_at = VoucherStatus.CANCELLED, timezone.now()
    work.save_fields(voucher, "status", "cancelled_at")
    work.insert(
        events.build(
            EventType.VOUCHER_CANCELLED,
            member=member,
            data=voucher_event_data(voucher, points=-(debit.points if debit else 0)),
        )
    )
    if own:
        work.flush()
    voucher.member = member
    return voucher


def voucher_event_data(voucher: Voucher, *, points: int | None = None, store: Store | None = None) -> dict:
    data = {"code": voucher.code, "reward": voucher.reward.name}
    if points is not None:
        data["points"] = points
    if store is not None:
        data["store"] = store.code
    return data
