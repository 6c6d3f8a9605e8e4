"""Reads for the member portal. Every read takes the signed-in member and filters by it, so a
member can only ever reach their own rows (another member's id is simply not found)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Member, MemberStatus, Purchase, Return, Stage
from rewards.catalog import _available, ineligibility
from rewards.earning import earning_setup
from rewards.models import PointsLot, Reward, Voucher
from rewards.selectors import ledger_entries
from tiers.selectors import TierProgress, member_tier_progress

from .models import ConsentChange

PAGE_SIZE = 20
CURRENCY_SYMBOLS = {"CNY": "¥", "HKD": "HK$", "TWD": "NT$", "USD": "$", "EUR": "€"}


def money(amount: Decimal) -> str:
    """An amount in the business's currency as members read it ("¥12.50")."""
    symbol = CURRENCY_SYMBOLS.get(settings.DEFAULT_CURRENCY, settings.DEFAULT_CURRENCY + " ")
    return f"{symbol}{amount.quantize(Decimal('0.01'))}"


def member_for_session(*, member_id: int, epoch: int) -> Member | None:
    """The signed-in member, if their session is still of the current epoch (one query)."""
    return (
        Member.objects.select_related("portal_account", "tier")
        .filter(pk=member_id, portal_account__session_epoch=epoch)
        .exclude(status=MemberStatus.CLOSED)
        .first()
    )


@dataclass(frozen=True)
class Expiry:
    points: int
    at: datetime


def next_expiry(*, member: Member) -> Expiry | None:
    """The points that expire first, and when (all lots ending that same moment)."""
    first = (
        PointsLot.objects.filter(member=member, remaining__gt=0)
        .values("expires_at")
        .annotate(points=Sum("remaining"))
        .order_by("expires_at")
        .first()
    )
    return Expiry(first["points"], first["expires_at"]) if first else None


@dataclass(frozen=True)
class Home:
    balance: int
    balance_value: str
    expiry: Expiry | None
    progress: TierProgress | None
    spend_to_next: str | None
    next_step: str


def home(*, member: Member) -> Home:
    value = max(member.points_balance, 0) * earning_setup().policy.point_value
    progress = member_tier_progress(member=member)
    to_next = money(progress.spend_to_next) if progress and progress.next_tier else None
    return Home(
        balance=member.points_balance,
        balance_value=money(value),
        expiry=next_expiry(member=member),
        progress=progress,
        spend_to_next=to_next,
        next_step=next_step(member=member, progress=progress, to_next=to_next),
    )


def next_step(*, member: Member, progress: TierProgress | None, to_next: str | None) -> str:
    """One suggestion fitting the member's stage of the journey."""
    if member.stage in (Stage.PROSPECT, Stage.TARGET):
        return _("Show this card at your first purchase to start earning points.")
    if member.stage == Stage.FIRST_TIME:
        return _("Welcome back soon: every purchase earns points towards your first reward.")
    if member.stage == Stage.REPEAT and progress and progress.next_tier:
        return _("Spend %(amount)s more to reach %(tier)s.") % {"amount": to_next, "tier": progress.next_tier.name}
    return _("Refer a friend with your code %(code)s: you both earn a reward.") % {"code": member.referral_code}


def _page(queryset: QuerySet, number) -> Page:
    return Paginator(queryset, PAGE_SIZE).get_page(number)


def purchases_page(*, member: Member, page) -> Page:
    returns = Prefetch("returns", queryset=Return.objects.order_by("created_at"))
    queryset = (
        Purchase.objects.filter(member=member)
        .select_related("store")
        .prefetch_related("lines", returns)
        .order_by("-occurred_at", "-id")
    )
    return _page(queryset, page)


def purchase_for_member(*, member: Member, public_id) -> Purchase:
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise Http404 from None
    purchase = (
        Purchase.objects.filter(member=member, public_id=key)
        .select_related("store")
        .prefetch_related("lines", "returns")
        .first()
    )
    if purchase is None:
        raise Http404
    return purchase


def ledger_page(*, member: Member, page) -> Page:
    return _page(ledger_entries(member=member), page)


def returns_page(*, member: Member, page) -> Page:
    queryset = Return.objects.filter(purchase__member=member).select_related("purchase", "store")
    return _page(queryset.order_by("-created_at", "-id"), page)


@dataclass(frozen=True)
class CatalogItem:
    reward: Reward
    missing: str  # what the member lacks, empty when they can redeem it now


def catalog(*, member: Member) -> list[CatalogItem]:
    """Every available reward: the ones the member can redeem now first, then what the others need."""
    rewards = Reward.objects.filter(_available(timezone.now())).select_related("min_tier")
    items = []
    for reward in rewards:
        reason = ineligibility(reward, member)
        if reason:
            missing = _translated_reason(reward, member)
        elif reward.cost_points > member.points_balance:
            missing = _("%(points)s more points") % {"points": reward.cost_points - max(member.points_balance, 0)}
        else:
            missing = ""
        items.append(CatalogItem(reward, missing))
    return sorted(items, key=lambda item: (bool(item.missing), item.reward.cost_points, item.reward.name))


def _translated_reason(reward: Reward, member: Member) -> str:
    # rewards.catalog.ineligibility speaks to staff in English; members read it in their language.
    if member.is_suspended:
        return _("Your membership is suspended.")
    if reward.min_tier_id and (member.tier is None or member.tier.rank < reward.min_tier.rank):
        return _("Needs %(tier)s tier or above.") % {"tier": reward.min_tier.name}
    return _("Not offered to you yet.")


def vouchers(*, member: Member) -> QuerySet[Voucher]:
    return Voucher.objects.filter(member=member).select_related("reward").order_by("-issued_at", "-id")


def voucher_for_member(*, member: Member, public_id) -> Voucher:
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise Http404 from None
    voucher = Voucher.objects.filter(member=member, public_id=key).select_related("reward").first()
    if voucher is None:
        raise Http404
    return voucher


def consent_history(*, member: Member) -> QuerySet[ConsentChange]:
    return ConsentChange.objects.filter(member=member)[:20]
