"""Reads of tiers and of a member's progress towards the next one."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.config_cache import ConfigCache
from members.models import Member, Purchase

from .models import Tier

QUALIFYING_WINDOW = timedelta(days=365)
NOTICE_DAYS = 30
ZERO = Decimal("0.00")

_tiers = ConfigCache(lambda: tuple(Tier.objects.order_by("rank")))
tiers_invalidate = _tiers.invalidate


def tiers_ranked() -> tuple[Tier, ...]:
    return _tiers.get()


def tier_by_id(tier_id: int | None) -> Tier | None:
    return next((t for t in tiers_ranked() if t.pk == tier_id), None)


def tier_for_spend(spend: Decimal) -> Tier | None:
    """The highest tier whose threshold the spend reaches."""
    eligible = [t for t in tiers_ranked() if t.threshold <= spend]
    return eligible[-1] if eligible else None


def tier_above(tier: Tier | None) -> Tier | None:
    return next((t for t in tiers_ranked() if tier is None or t.rank > tier.rank), None)


def tier_below(tier: Tier) -> Tier | None:
    lower = [t for t in tiers_ranked() if t.rank < tier.rank]
    return lower[-1] if lower else None


def _qualifying_purchases(as_of: datetime):
    return Purchase.objects.filter(occurred_at__gt=as_of - QUALIFYING_WINDOW, occurred_at__lte=as_of)


def qualifying_spend(*, member: Member, as_of: datetime | None = None) -> Decimal:
    """Spend over the 12 months before `as_of`, net of returns."""
    spend = (
        _qualifying_purchases(as_of or timezone.now())
        .filter(member=member)
        .aggregate(total=Sum(F("total") - F("returned_amount")))["total"]
    )
    return spend or ZERO


def qualifying_spend_subquery(as_of: datetime) -> Coalesce:
    """The same figure as an expression over `Member` rows, for set-based jobs."""
    per_member = (
        _qualifying_purchases(as_of)
        .filter(member=OuterRef("pk"))
        .order_by()
        .values("member")
        .annotate(total=Sum(F("total") - F("returned_amount")))
        .values("total")
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    return Coalesce(Subquery(per_member, output_field=money), ZERO, output_field=money)


@dataclass(frozen=True)
class TierProgress:
    tier: Tier
    valid_until: datetime | None
    next_tier: Tier | None
    spend_to_next: Decimal | None


def member_tier_progress(*, member: Member) -> TierProgress | None:
    """What a POS shows: the tier, until when, and how much more spend reaches the next one."""
    tier = tier_by_id(member.tier_id)
    if tier is None:
        return None
    following = tier_above(tier)
    to_next = max(following.threshold - qualifying_spend(member=member), ZERO) if following else None
    return TierProgress(tier, member.tier_valid_until, following, to_next)


def notice_window(as_of: datetime, since: datetime | None) -> tuple[datetime, datetime]:
    """The validity end dates (start, end] a run as of `as_of` warns about: those that came within
    NOTICE_DAYS since the previous run as of `since` (all within NOTICE_DAYS without one)."""
    end = as_of + timedelta(days=NOTICE_DAYS)
    start = as_of if since is None else max(as_of, since + timedelta(days=NOTICE_DAYS))
    return start, end


def tier_job_candidates(as_of: datetime, previous_run=None):
    """The members the requalification run may touch: validity ended, or newly within notice; and
    buyers without a tier (imported history) to be placed."""
    start, end = notice_window(as_of, previous_run and previous_run.as_of)
    tiered = Member.objects.filter(tier__isnull=False)
    due = tiered.filter(tier_valid_until__lte=as_of)
    warned = tiered.filter(tier_valid_until__gt=start, tier_valid_until__lte=end)
    untiered_buyers = Member.objects.filter(tier__isnull=True, purchase_count__gt=0)
    return (due | warned | untiered_buyers).values_list("pk", flat=True)
