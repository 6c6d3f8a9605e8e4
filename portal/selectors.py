"""Reads for the member portal. Every read takes the signed-in member and filters by it, so a
member can only ever reach their own rows (another member's id is simply not found)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Count, Prefetch, QuerySet, Sum
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import CampaignGrant, CampaignKind, MemberBadge
from feedback.models import Complaint, ComplaintEvent, EventKind, InvitationStatus, SurveyInvitation
from members.models import Member, MemberStatus, Purchase, Return, Stage
from rewards.catalog import _available, ineligibility
from rewards.earning import earning_setup
from rewards.models import PointsLot, Reward, Voucher
from rewards.selectors import ledger_entries
from tiers.models import TierChange
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
    next_step_url: str  # where the member acts on the suggestion, empty when it is at the till
    surveys_waiting: int


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
        next_step_url=next_step_url(member=member, progress=progress),
        surveys_waiting=surveys_waiting(member=member).count(),
    )


def next_step_url(*, member: Member, progress: TierProgress | None) -> str:
    """Where the member acts on the next step: the referral page when the step is a referral;
    the other steps happen at the till."""
    if member.stage in (Stage.PROSPECT, Stage.TARGET, Stage.FIRST_TIME):
        return ""
    if member.stage == Stage.REPEAT and progress and progress.next_tier:
        return ""
    return reverse("portal:referral")


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


# --- referral ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Friend:
    name: str  # masked: a friend's name is theirs, the referrer sees only that they joined
    joined_at: datetime
    bought: bool


@dataclass(frozen=True)
class Referral:
    code: str
    link: str
    friends: list[Friend]
    friends_who_bought: int
    points_earned: int
    vouchers_earned: int


def referral_link(member: Member) -> str:
    return settings.PUBLIC_BASE_URL + reverse("portal:join", args=[member.referral_code])


def referral(*, member: Member) -> Referral:
    """The member's referral code and link, the friends who joined with it, and what referral
    campaigns gave the member for them (a campaign rewards the referrer once per friend who buys)."""
    friends = [
        Friend(name=_masked_name(row["name"]), joined_at=row["enrolled_at"], bought=row["purchase_count"] > 0)
        for row in Member.objects.filter(referred_by=member)
        .exclude(status=MemberStatus.CLOSED)
        .order_by("-enrolled_at", "-id")
        .values("name", "enrolled_at", "purchase_count")[:100]
    ]
    grants = (
        CampaignGrant.objects.filter(member=member, campaign__kind=CampaignKind.REFERRAL, holdout=False)
        .exclude(grant_key=f"referral:{member.pk}")  # the member's own welcome as someone's friend
        .aggregate(points=Sum("points"), vouchers=Count("voucher"))
    )
    return Referral(
        code=member.referral_code,
        link=referral_link(member),
        friends=friends,
        friends_who_bought=sum(friend.bought for friend in friends),
        points_earned=grants["points"] or 0,
        vouchers_earned=grants["vouchers"] or 0,
    )


def _masked_name(name: str) -> str:
    name = name.strip()
    return name[0] + "*" * min(len(name) - 1, 3) if name else _("A friend")


# --- tier and badges ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Milestone:
    at: datetime
    kind: str  # "tier" or "badge"
    title: str
    detail: str


def milestones_page(*, member: Member, page) -> Page:
    """Tier changes and badges, newest first, as one history."""
    tiers = [
        Milestone(change.created_at, "tier", change.to_tier.name, change.from_tier.name if change.from_tier else "")
        for change in TierChange.objects.filter(member=member).select_related("from_tier", "to_tier")
    ]
    badges = [
        Milestone(held.awarded_at, "badge", held.badge.name, held.badge.description)
        for held in MemberBadge.objects.filter(member=member).select_related("badge")
    ]
    return Paginator(sorted(tiers + badges, key=lambda item: item.at, reverse=True), PAGE_SIZE).get_page(page)


def badges(*, member: Member) -> QuerySet[MemberBadge]:
    return MemberBadge.objects.filter(member=member).select_related("badge").order_by("-awarded_at", "-id")


# --- surveys and complaints --------------------------------------------------------------------


def surveys_waiting(*, member: Member) -> QuerySet[SurveyInvitation]:
    return (
        SurveyInvitation.objects.filter(member=member, status=InvitationStatus.PENDING, expires_at__gt=timezone.now())
        .select_related("survey")
        .order_by("expires_at", "id")
    )


def invitation_for_member(*, member: Member, public_id) -> SurveyInvitation:
    invitation = surveys_waiting(member=member).filter(public_id=_key(public_id)).first()
    if invitation is None:
        raise Http404
    return invitation


def complaints(*, member: Member) -> QuerySet[Complaint]:
    return Complaint.objects.filter(member=member).order_by("-created_at", "-id")


def complaint_for_member(*, member: Member, public_id) -> Complaint:
    complaint = complaints(member=member).filter(public_id=_key(public_id)).first()
    if complaint is None:
        raise Http404
    return complaint


def complaint_updates(*, complaint: Complaint) -> QuerySet[ComplaintEvent]:
    """What the member is told: the complaint's status changes and compensation (staff's internal
    notes and assignments stay internal)."""
    kinds = [EventKind.CREATED, EventKind.STATUS, EventKind.COMPENSATED]
    return ComplaintEvent.objects.filter(complaint=complaint, kind__in=kinds).order_by("created_at", "id")


def _key(public_id) -> uuid.UUID:
    try:
        return uuid.UUID(str(public_id))
    except ValueError:
        raise Http404 from None
