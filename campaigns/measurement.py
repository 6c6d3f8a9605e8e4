"""Did the campaign work? Treated members against the held-out control group: who bought, and
how much, within the offer window after their grant, with 95% confidence intervals."""

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from members.models import Purchase
from messaging.models import MessageStatus, OutboxMessage
from rewards.models import VoucherStatus

from .models import Campaign, CampaignKind

Z95 = 1.96


@dataclass(frozen=True)
class Group:
    members: int
    buyers: int
    revenue: Decimal
    revenue_variance: float

    @property
    def conversion(self) -> float | None:
        return self.buyers / self.members if self.members else None

    @property
    def revenue_per_member(self) -> float | None:
        return float(self.revenue) / self.members if self.members else None


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class CampaignResults:
    treated: Group
    holdout: Group
    delivered: int
    vouchers_issued: int
    vouchers_used: int
    conversion_uplift: Interval | None
    revenue_uplift: Interval | None

    @property
    def audience(self) -> int:
        return self.treated.members + self.holdout.members

    @property
    def win_back_rate(self) -> float | None:
        return self.treated.conversion


def _window_revenue(window: timedelta):
    in_window = Purchase.objects.filter(
        member=OuterRef("member"),
        occurred_at__gte=OuterRef("granted_at"),
        occurred_at__lt=OuterRef("granted_at") + window,
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    net = ExpressionWrapper(F("total") - F("returned_amount"), output_field=money)
    total = in_window.order_by().values("member").annotate(s=Sum(net)).values("s")
    return Coalesce(Subquery(total, output_field=money), Decimal(0), output_field=money)


def _group(values: list[Decimal]) -> Group:
    n = len(values)
    mean = float(sum(values)) / n if n else 0.0
    variance = sum((float(v) - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return Group(n, sum(1 for v in values if v > 0), sum(values, Decimal(0)), variance)


def _proportion_uplift(t: Group, c: Group) -> Interval | None:
    if not t.members or not c.members:
        return None
    pt, pc = t.conversion, c.conversion
    se = math.sqrt(pt * (1 - pt) / t.members + pc * (1 - pc) / c.members)
    return Interval(pt - pc, pt - pc - Z95 * se, pt - pc + Z95 * se)


def _mean_uplift(t: Group, c: Group) -> Interval | None:
    if t.members < 2 or c.members < 2:
        return None
    diff = t.revenue_per_member - c.revenue_per_member
    se = math.sqrt(t.revenue_variance / t.members + c.revenue_variance / c.members)
    return Interval(diff, diff - Z95 * se, diff + Z95 * se)


def campaign_results(*, campaign: Campaign) -> CampaignResults:
    window = (
        (campaign.ends_at - campaign.starts_at)
        if campaign.kind == CampaignKind.PROMOTION and campaign.ends_at
        else timedelta(days=campaign.offer_days)
    )
    rows = campaign.grants.annotate(revenue=_window_revenue(window)).values_list("holdout", "revenue")
    treated = _group([revenue for holdout, revenue in rows if not holdout])
    holdout = _group([revenue for holdout, revenue in rows if holdout])
    vouchers = campaign.vouchers.all()
    return CampaignResults(
        treated=treated,
        holdout=holdout,
        delivered=OutboxMessage.objects.filter(campaign=campaign, status=MessageStatus.SENT).count(),
        vouchers_issued=vouchers.count(),
        vouchers_used=vouchers.filter(status=VoucherStatus.USED).count(),
        conversion_uplift=_proportion_uplift(treated, holdout),
        revenue_uplift=_mean_uplift(treated, holdout),
    )
