"""The metrics laid out as tables, one set per dashboard area.

A table is what a page shows, what its chart draws, what its CSV export holds and what the
analytics API answers: the four read the same `Table`, so they never disagree.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from . import metrics
from .periods import Filters, Period, month_starts


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    columns: list[tuple[str, str]]  # (key, label)
    rows: list[list]

    def as_records(self) -> list[dict]:
        return [dict(zip([key for key, _ in self.columns], row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class Area:
    slug: str
    title: str
    tables: Callable[[Period, Filters], list[Table]]


def _headline(period: Period, filters: Filters) -> list[Table]:
    now, before = period, period.previous()
    sales_now, sales_before = metrics.sales(now, filters), metrics.sales(before, filters)
    retention_now, retention_before = metrics.retention(now, filters), metrics.retention(before, filters)
    pareto_now, pareto_before = metrics.pareto(now, filters), metrics.pareto(before, filters)
    points_now, points_before = metrics.points(now, filters), metrics.points(before, filters)
    win_now, win_before = metrics.win_back(now, filters), metrics.win_back(before, filters)
    figures = [
        ("revenue", _("Revenue"), sales_now.revenue, sales_before.revenue),
        ("purchases", _("Purchases"), sales_now.purchases, sales_before.purchases),
        ("buyers", _("Buyers"), sales_now.buyers, sales_before.buyers),
        ("average_basket", _("Average basket"), sales_now.average_basket, sales_before.average_basket),
        ("top_20_share", _("Revenue share of the top 20% of buyers"), pareto_now.top_share, pareto_before.top_share),
        ("retention_rate", _("Retention rate"), retention_now.retention_rate, retention_before.retention_rate),
        ("churn_rate", _("Churn rate"), retention_now.churn_rate, retention_before.churn_rate),
        ("win_back_rate", _("Win-back rate"), win_now.win_back_rate, win_before.win_back_rate),
        (
            "first_purchase_rate",
            _("New members' first-purchase rate"),
            win_now.first_purchase_rate,
            win_before.first_purchase_rate,
        ),
        ("points_liability", _("Points liability"), points_now.liability, points_before.liability),
        (
            "expected_liability",
            _("Liability net of expected breakage"),
            points_now.expected_liability,
            points_before.expected_liability,
        ),
    ]
    return [
        Table(
            "headline",
            _("Headline figures"),
            [("metric", _("Metric")), ("label", _("Figure")), ("current", _("This period")),
             ("previous", _("Previous period")), ("change", _("Change"))],
            [[key, label, now_value, before_value, metrics.change(now_value, before_value)]
             for key, label, now_value, before_value in figures],
        )
    ]  # fmt: skip


def _sales(period: Period, filters: Filters) -> list[Table]:
    return [
        Table(
            "revenue_by_day",
            _("Revenue by day"),
            [("day", _("Day")), ("revenue", _("Revenue")), ("purchases", _("Purchases"))],
            [list(row) for row in metrics.revenue_by_day(period, filters)],
        ),
        Table(
            "revenue_by_tier",
            _("Revenue by members' tier"),
            [("tier", _("Tier")), ("revenue", _("Revenue")), ("share", _("Share"))],
            [[s.tier or _("No tier"), s.revenue, s.share] for s in metrics.revenue_by_tier(period, filters)],
        ),
    ]


def cohort_months(period: Period) -> tuple[date, date]:
    """The twelve months ending with the period's last month."""
    last = period.last.replace(day=1)
    return month_starts(date(last.year - 1, last.month, 1), last)[1], last


def _customers(period: Period, filters: Filters) -> list[Table]:
    pareto = metrics.pareto(period, filters)
    retention = metrics.retention(period, filters)
    first, last = cohort_months(period)
    cohorts = metrics.cohort_matrix(first_month=first, last_month=last, filters=filters)
    span = len(cohorts)
    return [
        Table(
            "pareto",
            _("Revenue share by share of buyers"),
            [("buyers_share", _("Share of buyers")), ("revenue_share", _("Share of revenue"))],
            [list(point) for point in pareto.curve],
        ),
        Table(
            "retention",
            _("Retention and churn"),
            [
                ("previous_buyers", _("Buyers in the previous period")),
                ("retained", _("Bought again")),
                ("retention_rate", _("Retention rate")),
                ("churn_rate", _("Churn rate")),
            ],
            [[retention.previous_buyers, retention.retained, retention.retention_rate, retention.churn_rate]],
        ),
        Table(
            "cohorts",
            _("Cohorts: share of each first-purchase month still buying"),
            [("cohort", _("First purchase")), ("members", _("Members"))]
            + [(f"m{n}", _("Month %(n)s") % {"n": n}) for n in range(span)],
            [[c.month, c.members, *c.active, *([None] * (span - len(c.active)))] for c in cohorts],
        ),
    ]


def _journey(period: Period, filters: Filters) -> list[Table]:
    funnel = metrics.stage_funnel(period, filters)
    tiers = metrics.tier_mix(period, filters)
    win = metrics.win_back(period, filters)
    return [
        Table(
            "funnel",
            _("Members per stage at the period's end"),
            [("stage", _("Stage")), ("members", _("Members"))],
            [list(row) for row in funnel.at_end],
        ),
        Table(
            "conversions",
            _("Stage changes in the period"),
            [("from_stage", _("From")), ("to_stage", _("To")), ("members", _("Members")), ("rate", _("Rate"))],
            [[c.from_stage, c.to_stage, c.members, c.rate] for c in funnel.conversions],
        ),
        Table(
            "tier_mix",
            _("Members per tier at the period's end"),
            [("tier", _("Tier")), ("members", _("Members"))],
            [[name or _("No tier"), n] for name, n in tiers.at_end],
        ),
        Table(
            "tier_moves",
            _("Tier moves in the period"),
            [("upgrades", _("Upgrades")), ("downgrades", _("Downgrades")), ("kept", _("Requalified"))],
            [[tiers.upgrades, tiers.downgrades, tiers.kept]],
        ),
        Table(
            "win_back",
            _("Win-back beside new members"),
            [
                ("lapsed", _("Lapsed")),
                ("won_back", _("Won back within 90 days")),
                ("win_back_rate", _("Win-back rate")),
                ("new_members", _("New members")),
                ("new_buyers", _("First purchase within 90 days")),
                ("first_purchase_rate", _("First-purchase rate")),
            ],
            [
                [
                    win.lapsed,
                    win.won_back,
                    win.win_back_rate,
                    win.new_members,
                    win.new_buyers,
                    win.first_purchase_rate,
                ]
            ],
        ),
    ]


def _points(period: Period, filters: Filters) -> list[Table]:
    return [
        Table(
            "points_by_month",
            _("Points and liability by month"),
            [
                ("month", _("Month")),
                ("issued", _("Issued")),
                ("redeemed", _("Redeemed")),
                ("expired", _("Expired")),
                ("outstanding", _("Outstanding")),
                ("redemption_rate", _("Redemption rate")),
                ("breakage", _("Breakage")),
                ("liability", _("Liability")),
                ("expected_liability", _("Liability net of expected breakage")),
            ],
            [
                [
                    month,
                    p.issued,
                    p.redeemed,
                    p.expired,
                    p.outstanding,
                    p.redemption_rate,
                    p.breakage,
                    p.liability,
                    p.expected_liability,
                ]
                for month, p in metrics.points_by_month(period, filters)
            ],
        )
    ]


def _hours(duration) -> float | None:
    return round(duration.total_seconds() / 3600, 2) if duration is not None else None


def _feedback(period: Period, filters: Filters) -> list[Table]:
    from members.models import LoyaltyType

    grid = metrics.grid_mix_by_month(period, filters)
    return [
        Table(
            "nps",
            _("NPS by month"),
            [
                ("month", _("Month")),
                ("responses", _("Responses")),
                ("promoters", _("Promoters")),
                ("detractors", _("Detractors")),
                ("nps", _("NPS")),
            ],
            [[r.month, r.responses, r.promoters, r.detractors, r.score] for r in metrics.nps_by_month(period, filters)],
        ),
        Table(
            "complaints",
            _("Complaint targets by store"),
            [
                ("store", _("Store")),
                ("complaints", _("Complaints")),
                ("answered_within_target", _("Answered within target")),
                ("median_first_response_hours", _("Median first response (hours)")),
                ("median_resolution_hours", _("Median resolution (hours)")),
                ("per_thousand_purchases", _("Per 1,000 purchases")),
            ],
            [
                [
                    store.name,
                    m.complaints,
                    m.answered_within_target,
                    _hours(m.median_first_response),
                    _hours(m.median_resolution),
                    m.per_thousand_purchases,
                ]
                for store, m in metrics.complaint_targets(period, filters)
            ],
        ),
        Table(
            "grid_mix",
            _("Loyalty grid at each month's end"),
            [("day", _("Day"))] + [(kind.value, kind.label) for kind in LoyaltyType],
            [[day, *[counts[kind.value] for kind in LoyaltyType]] for day, counts in grid],
        ),
    ]


def _campaigns(period: Period, filters: Filters) -> list[Table]:
    def low_high(interval):
        return (interval.estimate, interval.low, interval.high) if interval else (None, None, None)

    rows = []
    for campaign, results in metrics.campaigns_measured(period):
        rows.append(
            [
                campaign.name,
                campaign.kind,
                results.treated.members,
                results.holdout.members,
                results.treated.conversion,
                results.holdout.conversion,
                *low_high(results.conversion_uplift),
                *low_high(results.revenue_uplift),
            ]
        )
    return [
        Table(
            "campaigns",
            _("Campaigns with grants in the period, measured against their holdout"),
            [
                ("campaign", _("Campaign")),
                ("kind", _("Kind")),
                ("treated", _("Treated")),
                ("holdout", _("Holdout")),
                ("treated_conversion", _("Treated: bought")),
                ("holdout_conversion", _("Holdout: bought")),
                ("conversion_uplift", _("Conversion uplift")),
                ("conversion_uplift_low", _("Conversion uplift, 95% low")),
                ("conversion_uplift_high", _("Conversion uplift, 95% high")),
                ("revenue_uplift", _("Revenue uplift per member")),
                ("revenue_uplift_low", _("Revenue uplift, 95% low")),
                ("revenue_uplift_high", _("Revenue uplift, 95% high")),
            ],
            rows,
        )
    ]


def _overview(period: Period, filters: Filters) -> list[Table]:
    """The home page: headline figures and the data of every chart."""
    sales, customers, journey, points = (
        _sales(period, filters),
        _customers(period, filters),
        _journey(period, filters),
        _points(period, filters),
    )
    pick = {t.name: t for t in [*sales, *customers, *journey, *points]}
    return [
        *_headline(period, filters),
        pick["revenue_by_day"],
        pick["pareto"],
        pick["cohorts"],
        pick["funnel"],
        pick["tier_mix"],
        pick["points_by_month"],
        pick["win_back"],
    ]


AREAS = {
    area.slug: area
    for area in [
        Area("overview", _("Overview"), _overview),
        Area("sales", _("Sales"), _sales),
        Area("customers", _("Customers"), _customers),
        Area("journey", _("Journey"), _journey),
        Area("points", _("Points"), _points),
        Area("feedback", _("Feedback"), _feedback),
        Area("campaigns", _("Campaigns"), _campaigns),
    ]
}


def plain(value):
    """A cell as JSON and CSV carry it: money and dates as text, rates as floats."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, int | float | str):
        return value
    return str(value)
