"""How many points a basket earns, and when they expire. Pure computation: nothing is written.

The policy and rules are read on almost every POS request, so they are cached per process (see
`core.config_cache`).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.utils import timezone

from core.config_cache import ConfigCache
from core.dates import add_months
from core.sampling import held_out

from .models import EarningPolicy, EarningRule, ExpiryMode, Rounding

_ROUNDING = {Rounding.DOWN: ROUND_FLOOR, Rounding.HALF_UP: ROUND_HALF_UP, Rounding.UP: ROUND_CEILING}


@dataclass(frozen=True)
class BasketLine:
    sku: str
    category: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class EarnQuote:
    points: int
    note: str = ""
    base_points: int = 0  # at the base rate, without any multiplier: the rest came from promotions


@dataclass(frozen=True)
class Earner:
    """What the rules need to know about the member earning (nothing, for an anonymous quote)."""

    member_id: int | None = None
    tier_rank: int | None = None
    stage: str | None = None
    tier_multiplier: Decimal = Decimal(1)


@dataclass(frozen=True)
class EarningSetup:
    policy: EarningPolicy
    rules: tuple[EarningRule, ...]


def _load_setup() -> EarningSetup:
    policy, _ = EarningPolicy.objects.get_or_create(pk=1)
    rules = EarningRule.objects.filter(active=True).select_related("min_tier", "campaign")
    return EarningSetup(policy, tuple(rules))


_setup = ConfigCache(_load_setup)
earning_setup = _setup.get
earning_setup_invalidate = _setup.invalidate


def _rule_applies(rule: EarningRule, *, channel: str, store_id: int | None, at: datetime, earner: Earner) -> bool:
    """Whether a rule applies to this purchase, before looking at lines (categories)."""
    return (
        (not rule.channel or rule.channel == channel)
        and (rule.store_id is None or rule.store_id == store_id)
        and (rule.starts_at is None or rule.starts_at <= at)
        and (rule.ends_at is None or at < rule.ends_at)
        and (rule.min_tier is None or (earner.tier_rank or 0) >= rule.min_tier.rank)
        and (not rule.stages or earner.stage in rule.stages)
        and not _held_out(rule, earner)
    )


def _held_out(rule: EarningRule, earner: Earner) -> bool:
    campaign = rule.campaign
    if campaign is None:
        return False
    if earner.member_id is None:
        return True  # a promotion window is for members
    return held_out(campaign.pk, earner.member_id, campaign.holdout_percent)


def points_for_basket(
    *,
    lines: list[BasketLine],
    total: Decimal,
    channel: str,
    store_id: int | None,
    at: datetime,
    earner: Earner = Earner(),
) -> EarnQuote:
    """Points for a basket: each line's amount at the base rate times the tier's multiplier and
    every matching rule (category, channel, store, promotion window, segment)."""
    setup = earning_setup()
    policy = setup.policy
    if total < policy.minimum_spend:
        return EarnQuote(0, f"Purchases below {policy.minimum_spend} earn no points.")
    rules = [r for r in setup.rules if _rule_applies(r, channel=channel, store_id=store_id, at=at, earner=earner)]
    raw, base = Decimal(0), Decimal(0)
    for line in lines:
        base += line.amount / policy.spend_per_point
        multiplier = earner.tier_multiplier
        for rule in rules:
            if not rule.category or rule.category == line.category:
                multiplier *= rule.multiplier
        raw += line.amount * multiplier / policy.spend_per_point
    rounding = _ROUNDING[policy.rounding]
    points = int(raw.quantize(Decimal(1), rounding=rounding))
    return EarnQuote(points, "", min(points, int(base.quantize(Decimal(1), rounding=rounding))))


def lot_expiry(earned_at: datetime) -> datetime:
    """When points earned at `earned_at` expire under the current policy."""
    policy = earning_setup().policy
    local = timezone.localtime(earned_at)
    if policy.expiry_mode == ExpiryMode.END_OF_FOLLOWING_YEAR:
        return local.replace(year=local.year + 2, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return add_months(local, policy.expiry_months)
