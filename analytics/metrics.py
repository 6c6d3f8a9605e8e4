"""The programme's numbers, as `docs/metrics.md` defines them: set-based reads, one per metric.

Every function takes a `Period` (whole local days) and `Filters`, and returns plain data the
dashboard, the CSV export and the API render alike. Revenue is net of the returns recorded so far
(`total - returned_amount`). Reads go to the `analytics` database alias (a read replica when
`ANALYTICS_DATABASE_URL` is set, else the default database).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connections
from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils import timezone

from members.models import ChangeKind, LapseState, Member, Purchase, Stage, StageChange
from rewards.models import EarningPolicy, EntryKind, LedgerEntry
from tiers.models import Tier, TierChange, TierChangeKind

from .periods import EVERYTHING, Filters, Period, month_starts
from .routing import ANALYTICS_DB

MONEY = DecimalField(max_digits=16, decimal_places=2)
ZERO_MONEY = Value(Decimal("0.00"), output_field=MONEY)
NET = F("total") - F("returned_amount")
CENT = Decimal("0.01")


def _purchases(period: Period, filters: Filters):
    return Purchase.objects.using(ANALYTICS_DB).filter(period.moments(), filters.purchases())


def _members(filters: Filters):
    return Member.objects.using(ANALYTICS_DB).filter(filters.members())


def _ratio(part, whole) -> float | None:
    return float(part) / float(whole) if whole else None


def change(current, previous) -> float | None:
    """Relative change against the previous period (0.25 is +25%); None when there was nothing."""
    if current is None or previous is None or not previous:
        return None
    return (float(current) - float(previous)) / float(previous)


# Sales ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sales:
    revenue: Decimal
    purchases: int
    buyers: int

    @property
    def average_basket(self) -> Decimal | None:
        return (self.revenue / self.purchases).quantize(CENT) if self.purchases else None


def _aggregated(period: Period, filters: Filters):
    """The daily sales rows answering for the period, when the nightly aggregate holds it whole
    (refreshed after the period ended, and no tier filter, which it does not carry); else None."""
    from .aggregates import last_refreshed
    from .models import DailySales

    refreshed = last_refreshed()
    if filters.tier_id is not None or refreshed is None or refreshed < period.until:
        return None
    rows = DailySales.objects.using(ANALYTICS_DB).filter(day__gte=period.first, day__lte=period.last)
    if filters.store_id is not None:
        rows = rows.filter(store_id=filters.store_id)
    if filters.channel:
        rows = rows.filter(channel=filters.channel)
    return rows


def sales(period: Period, filters: Filters = EVERYTHING) -> Sales:
    """Net revenue, purchases (receipts) and distinct buying members in the period."""
    buyers = _purchases(period, filters).aggregate(buyers=Count("member_id", distinct=True))["buyers"]
    daily = _aggregated(period, filters)
    if daily is not None:
        totals = daily.aggregate(revenue=Coalesce(Sum("revenue"), ZERO_MONEY), purchases=Coalesce(Sum("purchases"), 0))
    else:
        totals = _purchases(period, filters).aggregate(
            revenue=Coalesce(Sum(NET, output_field=MONEY), ZERO_MONEY), purchases=Count("pk")
        )
    return Sales(revenue=totals["revenue"], purchases=totals["purchases"], buyers=buyers)


def revenue_by_day(period: Period, filters: Filters = EVERYTHING) -> list[tuple[date, Decimal, int]]:
    """(local day, net revenue, purchases) for every day of the period, zeros included."""
    daily = _aggregated(period, filters)
    if daily is not None:
        grouped = daily.order_by().values("day").annotate(r=Sum("revenue"), n=Sum("purchases"))
        rows = {row["day"]: (row["r"], row["n"]) for row in grouped}
    else:
        grouped = (
            _purchases(period, filters)
            .annotate(day=TruncDate("occurred_at"))
            .order_by()
            .values("day")
            .annotate(revenue=Sum(NET, output_field=MONEY), purchases=Count("pk"))
            .values_list("day", "revenue", "purchases")
        )
        rows = {day: (revenue, purchases) for day, revenue, purchases in grouped}
    days = [period.first + timedelta(days=n) for n in range(period.days)]
    return [(day, *rows.get(day, (Decimal("0.00"), 0))) for day in days]


@dataclass(frozen=True)
class TierShare:
    tier: str
    revenue: Decimal
    share: float | None


def revenue_by_tier(period: Period, filters: Filters = EVERYTHING) -> list[TierShare]:
    """Net revenue of the period by the buying member's current tier, with each tier's share of
    the total; tiers from the highest down, members without a tier last."""
    rows = list(
        _purchases(period, filters)
        .order_by()
        .values("member__tier__name", "member__tier__rank")
        .annotate(revenue=Sum(NET, output_field=MONEY))
        .order_by(F("member__tier__rank").desc(nulls_last=True))
        .values_list("member__tier__name", "revenue")
    )
    total = sum((revenue for _, revenue in rows), Decimal(0))
    return [TierShare(tier=name or "", revenue=revenue, share=_ratio(revenue, total)) for name, revenue in rows]


# Pareto --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pareto:
    buyers: int
    revenue: Decimal
    top_share: float | None  # revenue share of the top 20% of buyers
    # (share of buyers, share of revenue) at every 5% of buyers, from the biggest spenders down.
    curve: list[tuple[float, float]] = field(default_factory=list)


PARETO_STEPS = 20


def pareto(period: Period, filters: Filters = EVERYTHING) -> Pareto:
    """Buyers ranked by their net revenue in the period; the revenue share of the top
    ceil(k/20 x buyers) for k = 1..20. The top 20% is k = 4."""
    per_member = (
        _purchases(period, filters).order_by().values("member_id").annotate(revenue=Sum(NET, output_field=MONEY))
    )
    inner, params = per_member.query.sql_with_params()
    # Cumulative revenue by rank needs a window over an aggregate, which the ORM cannot nest; the
    # interpolated text is SQL the ORM compiled (values travel as parameters).
    sql = f"""
        WITH ranked AS (
            SELECT row_number() OVER (ORDER BY revenue DESC, member_id) AS rank,
                   sum(revenue) OVER (ORDER BY revenue DESC, member_id) AS cumulative,
                   count(*) OVER () AS buyers, sum(revenue) OVER () AS total
            FROM ({inner}) AS per_member
        )
        SELECT rank, cumulative, buyers, total FROM ranked
        WHERE rank IN (SELECT ceil(buyers * step / %s::numeric) FROM generate_series(1, %s) AS step)
        ORDER BY rank
    """  # noqa: S608
    with connections[ANALYTICS_DB].cursor() as cursor:
        cursor.execute(sql, [*params, PARETO_STEPS, PARETO_STEPS])
        rows = {rank: (cumulative, buyers, total) for rank, cumulative, buyers, total in cursor.fetchall()}
    if not rows:
        return Pareto(buyers=0, revenue=Decimal("0.00"), top_share=None)
    _, buyers, total = next(iter(rows.values()))
    curve = []
    for step in range(1, PARETO_STEPS + 1):
        rank = -(-buyers * step // PARETO_STEPS)  # ceil
        curve.append((step / PARETO_STEPS, _ratio(rows[rank][0], total) or 0.0))
    return Pareto(buyers=buyers, revenue=total, top_share=curve[PARETO_STEPS // 5 - 1][1], curve=curve)


# Retention, churn, cohorts -------------------------------------------------------------------


@dataclass(frozen=True)
class Retention:
    previous_buyers: int
    retained: int

    @property
    def retention_rate(self) -> float | None:
        return _ratio(self.retained, self.previous_buyers)

    @property
    def churn_rate(self) -> float | None:
        rate = self.retention_rate
        return None if rate is None else 1.0 - rate


def retention(period: Period, filters: Filters = EVERYTHING) -> Retention:
    """Of the members who bought in the previous period, how many bought again in this one."""
    earlier = _purchases(period.previous(), filters).values("member_id")
    previous = earlier.aggregate(n=Count("member_id", distinct=True))["n"]
    retained = (
        _purchases(period, filters).filter(member_id__in=earlier).aggregate(n=Count("member_id", distinct=True))["n"]
    )
    return Retention(previous_buyers=previous, retained=retained)


@dataclass(frozen=True)
class Cohort:
    month: date
    members: int
    # share of the cohort buying in its month 0, 1, 2, ... (up to the last complete or current month)
    active: list[float]


def cohort_matrix(*, first_month: date, last_month: date, filters: Filters = EVERYTHING) -> list[Cohort]:
    """Members by the month of their first purchase (from `first_month` to `last_month`) x
    months since then: the share of the cohort with a purchase (matching the filters) in that
    month."""
    months = month_starts(first_month, last_month)
    since = timezone.make_aware(datetime.combine(months[0], datetime.min.time()))
    until = timezone.make_aware(datetime.combine(_next_month(months[-1]), datetime.min.time()))
    cohort_month = TruncMonth("member__first_purchase_at")
    active = (
        Purchase.objects.using(ANALYTICS_DB)
        .filter(filters.purchases(), member__first_purchase_at__gte=since, member__first_purchase_at__lt=until)
        .filter(occurred_at__lt=until)
        .annotate(cohort=cohort_month, month=TruncMonth("occurred_at"))
        .order_by()
        .values("cohort", "month")
        .annotate(members=Count("member_id", distinct=True))
        .values_list("cohort", "month", "members")
    )
    sizes = dict(
        Member.objects.using(ANALYTICS_DB)
        .filter(filters.members(), first_purchase_at__gte=since, first_purchase_at__lt=until)
        .annotate(cohort=TruncMonth("first_purchase_at"))
        .order_by()
        .values("cohort")
        .annotate(members=Count("pk"))
        .values_list("cohort", "members")
    )
    by_cohort: dict[date, dict[int, int]] = {}
    for cohort, month, members in active:
        cohort_day, month_day = timezone.localdate(cohort), timezone.localdate(month)
        offset = (month_day.year - cohort_day.year) * 12 + month_day.month - cohort_day.month
        by_cohort.setdefault(cohort_day, {})[offset] = members
    sizes = {timezone.localdate(cohort): members for cohort, members in sizes.items()}
    result = []
    for month in months:
        size = sizes.get(month, 0)
        span = len(months) - months.index(month)
        counts = by_cohort.get(month, {})
        result.append(
            Cohort(month=month, members=size, active=[_ratio(counts.get(n, 0), size) or 0.0 for n in range(span)])
        )
    return result


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


# Stages, tiers, grid: state at a moment from the history ---------------------------------------


def _latest_per_member(changes, moment: datetime):
    """The latest of each member's changes recorded before `moment` (one pass, DISTINCT ON)."""
    latest = changes.filter(created_at__lt=moment).order_by("member_id", "-created_at", "-pk").distinct("member_id")
    return changes.model.objects.using(ANALYTICS_DB).filter(pk__in=Subquery(latest.values("pk")))


def _state_at(moment: datetime, kind: str, default: str, filters: Filters) -> dict[str, int]:
    """Members enrolled before `moment` counted by their value of `kind` then: the latest change
    recorded before it, or `default` when none was."""
    members = _members(filters).filter(enrolled_at__lt=moment)
    changes = StageChange.objects.using(ANALYTICS_DB).filter(kind=kind, member__in=members)
    counts = dict(
        _latest_per_member(changes, moment)
        .order_by()
        .values("to_value")
        .annotate(n=Count("pk"))
        .values_list("to_value", "n")
    )
    without = members.count() - sum(counts.values())
    counts[default] = counts.get(default, 0) + without
    return counts


STAGE_ORDER = [Stage.PROSPECT, Stage.TARGET, Stage.FIRST_TIME, Stage.REPEAT, Stage.CORE, Stage.ADVOCATE]


@dataclass(frozen=True)
class Conversion:
    from_stage: str
    to_stage: str
    members: int
    rate: float | None  # of the members in from_stage when the period began


@dataclass(frozen=True)
class Funnel:
    at_end: list[tuple[str, int]]
    conversions: list[Conversion]


def stage_funnel(period: Period, filters: Filters = EVERYTHING) -> Funnel:
    """Members per stage at the period's end, and the stage changes within it (each as a share
    of the members in the stage it left, counted at the period's start)."""
    at_start = _state_at(period.since, ChangeKind.STAGE, Stage.PROSPECT, filters)
    at_end = _state_at(period.until, ChangeKind.STAGE, Stage.PROSPECT, filters)
    moves = (
        StageChange.objects.using(ANALYTICS_DB)
        .filter(kind=ChangeKind.STAGE, created_at__gte=period.since, created_at__lt=period.until)
        .filter(filters.members("member__"))
        .order_by()
        .values("from_value", "to_value")
        .annotate(members=Count("member_id", distinct=True))
        .values_list("from_value", "to_value", "members")
    )
    order = {stage: n for n, stage in enumerate(STAGE_ORDER)}
    conversions = sorted(
        (Conversion(a, b, n, _ratio(n, at_start.get(a, 0))) for a, b, n in moves),
        key=lambda c: (order.get(c.from_stage, 99), order.get(c.to_stage, 99)),
    )
    return Funnel(at_end=[(stage.value, at_end.get(stage, 0)) for stage in STAGE_ORDER], conversions=conversions)


def grid_mix(moment: datetime, filters: Filters = EVERYTHING) -> dict[str, int]:
    """Members by loyalty type (the loyalty grid) at a moment, from the placement history."""
    from members.models import LoyaltyType

    counts = _state_at(moment, ChangeKind.GRID, LoyaltyType.NONE, filters)
    return {kind.value: counts.get(kind, 0) for kind in LoyaltyType}


def grid_mix_by_month(period: Period, filters: Filters = EVERYTHING) -> list[tuple[date, dict[str, int]]]:
    """The grid mix at the end of every month of the period (the last at the period's end)."""
    return [(end, grid_mix(_moment_after(end, period), filters)) for end in _month_ends(period)]


@dataclass(frozen=True)
class TierMix:
    at_end: list[tuple[str, int]]  # tier name (from the highest), members; "" for no tier
    upgrades: int
    downgrades: int
    kept: int  # requalified at validity end


def tier_mix(period: Period, filters: Filters = EVERYTHING) -> TierMix:
    """Members per tier at the period's end (their latest tier change before it), and the tier
    moves within the period."""
    members = _members(filters).filter(enrolled_at__lt=period.until)
    changes = TierChange.objects.using(ANALYTICS_DB).filter(member__in=members)
    counts = dict(
        _latest_per_member(changes, period.until)
        .order_by()
        .values("to_tier_id")
        .annotate(n=Count("pk"))
        .values_list("to_tier_id", "n")
    )
    counts[None] = members.count() - sum(counts.values())
    tiers = Tier.objects.using(ANALYTICS_DB).order_by("-rank").values_list("pk", "name")
    at_end = [(name, counts.get(pk, 0)) for pk, name in tiers] + [("", counts.get(None, 0))]
    moves = dict(
        TierChange.objects.using(ANALYTICS_DB)
        .filter(created_at__gte=period.since, created_at__lt=period.until)
        .filter(filters.members("member__"))
        .order_by()
        .values("kind")
        .annotate(n=Count("pk"))
        .values_list("kind", "n")
    )
    return TierMix(
        at_end=at_end,
        upgrades=moves.get(TierChangeKind.UPGRADE, 0),
        downgrades=moves.get(TierChangeKind.DOWNGRADE, 0),
        kept=moves.get(TierChangeKind.RENEW, 0),
    )


# Lapse and win-back --------------------------------------------------------------------------

WIN_BACK_WINDOW_DAYS = 90


@dataclass(frozen=True)
class WinBack:
    lapsed: int
    won_back: int
    new_members: int
    new_buyers: int

    @property
    def win_back_rate(self) -> float | None:
        return _ratio(self.won_back, self.lapsed)

    @property
    def first_purchase_rate(self) -> float | None:
        return _ratio(self.new_buyers, self.new_members)


def win_back(period: Period, filters: Filters = EVERYTHING, *, window_days: int = WIN_BACK_WINDOW_DAYS) -> WinBack:
    """Members who lapsed in the period and how many of them bought again within `window_days`
    of lapsing; beside them, members enrolled in the period and how many made a first purchase
    within `window_days` of enrolling (the seed's "twice as often" claim, measured)."""
    window = timedelta(days=window_days)
    lapses = StageChange.objects.using(ANALYTICS_DB).filter(
        filters.members("member__"),
        kind=ChangeKind.LAPSE,
        to_value=LapseState.LAPSED,
        created_at__gte=period.since,
        created_at__lt=period.until,
    )
    back = StageChange.objects.filter(
        member_id=OuterRef("member_id"),
        kind=ChangeKind.LAPSE,
        to_value=LapseState.WON_BACK,
        created_at__gt=OuterRef("created_at"),
        created_at__lte=OuterRef("created_at") + window,
    )
    lapse_counts = lapses.aggregate(lapsed=Count("pk"), won_back=Count("pk", filter=Exists(back)))
    bought = Purchase.objects.filter(
        filters.purchases(), member_id=OuterRef("pk"), occurred_at__lte=OuterRef("enrolled_at") + window
    )
    new = _members(filters).filter(enrolled_at__gte=period.since, enrolled_at__lt=period.until)
    new_counts = new.aggregate(members=Count("pk"), buyers=Count("pk", filter=Exists(bought)))
    return WinBack(
        lapsed=lapse_counts["lapsed"],
        won_back=lapse_counts["won_back"],
        new_members=new_counts["members"],
        new_buyers=new_counts["buyers"],
    )


# Points and liability ------------------------------------------------------------------------


@dataclass(frozen=True)
class Points:
    issued: int
    redeemed: int
    expired: int
    outstanding: int  # positive balances at the period's end
    point_value: Decimal
    breakage_estimate: float | None  # expired / (expired + redeemed), all history to the period's end

    @property
    def redemption_rate(self) -> float | None:
        return _ratio(self.redeemed, self.issued)

    @property
    def breakage(self) -> float | None:
        return _ratio(self.expired, self.issued)

    @property
    def liability(self) -> Decimal:
        return (self.outstanding * self.point_value).quantize(CENT)

    @property
    def expected_liability(self) -> Decimal:
        """The liability net of the points expected to expire unredeemed (IFRS 15)."""
        keep = Decimal(1) - Decimal(str(self.breakage_estimate or 0))
        return (self.liability * keep).quantize(CENT)


def _entries(filters: Filters):
    q = Q()
    if filters.store_id is not None:
        q &= Q(store_id=filters.store_id)
    if filters.tier_id is not None:
        q &= Q(member__tier_id=filters.tier_id)
    return LedgerEntry.objects.using(ANALYTICS_DB).filter(q)


def _movements(entries) -> dict[str, int]:
    """Issued, redeemed and expired points of some ledger entries. A return's reversal takes back
    what its purchase issued; a cancelled redemption's reversal gives back what was redeemed."""
    credit_kinds = [EntryKind.EARN, EntryKind.BONUS]
    totals = entries.aggregate(
        issued=Coalesce(
            Sum("points", filter=Q(kind__in=credit_kinds) | Q(kind=EntryKind.ADJUST, points__gt=0))
            + Coalesce(Sum("points", filter=Q(kind=EntryKind.REVERSE, return_record__isnull=False)), 0),
            0,
        ),
        redeemed=Coalesce(
            -Sum("points", filter=Q(kind=EntryKind.REDEEM))
            - Coalesce(Sum("points", filter=Q(kind=EntryKind.REVERSE, return_record__isnull=True)), 0),
            0,
        ),
        expired=Coalesce(-Sum("points", filter=Q(kind=EntryKind.EXPIRE)), 0),
    )
    return totals


def points(period: Period, filters: Filters = EVERYTHING) -> Points:
    """Points issued, redeemed and expired in the period; what members hold at its end and what
    that is worth at the configured point value, gross and net of expected breakage."""
    moved = _movements(_entries(filters).filter(created_at__gte=period.since, created_at__lt=period.until))
    history = _movements(_entries(filters).filter(created_at__lt=period.until))
    return Points(
        issued=moved["issued"],
        redeemed=moved["redeemed"],
        expired=moved["expired"],
        outstanding=_outstanding(period.until, filters),
        point_value=EarningPolicy.objects.using(ANALYTICS_DB).values_list("point_value", flat=True).first()
        or Decimal("0.10"),
        breakage_estimate=_ratio(history["expired"], history["expired"] + history["redeemed"]),
    )


def _outstanding(moment: datetime, filters: Filters) -> int:
    """The sum of members' positive balances at a moment (a negative balance, a debt from a
    return, is no liability)."""
    balances = (
        _entries(filters).filter(created_at__lt=moment).order_by().values("member_id").annotate(balance=Sum("points"))
    )
    return balances.filter(balance__gt=0).aggregate(total=Coalesce(Sum("balance"), 0))["total"]


def points_by_month(period: Period, filters: Filters = EVERYTHING) -> list[tuple[date, Points]]:
    """`points` for every month the period touches, each cut to the period (the liability at
    each month's end, the last at the period's end)."""
    rows = []
    for month in month_starts(period.first, period.last):
        first = max(month, period.first)
        last = min(_next_month(month) - timedelta(days=1), period.last)
        rows.append((month, points(Period.between(first, last), filters)))
    return rows


# Feedback, complaints, campaigns -------------------------------------------------------------


@dataclass(frozen=True)
class Nps:
    month: date
    responses: int
    promoters: int
    detractors: int

    @property
    def score(self) -> float | None:
        """% promoters (9-10) minus % detractors (0-6), from -100 to 100."""
        return 100.0 * (self.promoters - self.detractors) / self.responses if self.responses else None


def nps_by_month(period: Period, filters: Filters = EVERYTHING) -> list[Nps]:
    from feedback.models import Feedback

    q = Q(store_id=filters.store_id) if filters.store_id is not None else Q()
    q &= filters.members("member__")
    rows = {
        timezone.localdate(month): (n, promoters, detractors)
        for month, n, promoters, detractors in Feedback.objects.using(ANALYTICS_DB)
        .filter(q, nps__isnull=False, created_at__gte=period.since, created_at__lt=period.until)
        .annotate(month=TruncMonth("created_at"))
        .order_by()
        .values("month")
        .annotate(
            n=Count("pk"), promoters=Count("pk", filter=Q(nps__gte=9)), detractors=Count("pk", filter=Q(nps__lte=6))
        )
        .values_list("month", "n", "promoters", "detractors")
    }
    return [Nps(month, *rows.get(month, (0, 0, 0))) for month in month_starts(period.first, period.last)]


def complaint_targets(period: Period, filters: Filters = EVERYTHING):
    """Complaint service levels per store (`feedback.selectors.complaint_breakdown`), or for the
    filtered store only."""
    from feedback.selectors import complaint_breakdown, complaint_metrics
    from stores.models import Store

    if filters.store_id is not None:
        store = Store.objects.get(pk=filters.store_id)
        return [(store, complaint_metrics(since=period.since, until=period.until, store=store))]
    rows = complaint_breakdown(since=period.since, until=period.until, by="store")
    stores = Store.objects.in_bulk([store_id for store_id, _ in rows])
    return [(stores[store_id], metrics) for store_id, metrics in rows]


def campaigns_measured(period: Period):
    """Campaigns with grants in the period, each with its measured uplift over the holdout."""
    from campaigns.measurement import campaign_results
    from campaigns.models import Campaign

    campaigns = (
        Campaign.objects.using(ANALYTICS_DB)
        .filter(grants__granted_at__gte=period.since, grants__granted_at__lt=period.until)
        .distinct()
        .order_by("pk")
    )
    return [(campaign, campaign_results(campaign=campaign)) for campaign in campaigns]


def _month_ends(period: Period) -> list[date]:
    return [
        min(_next_month(month) - timedelta(days=1), period.last) for month in month_starts(period.first, period.last)
    ]


def _moment_after(day: date, period: Period) -> datetime:
    return Period.between(day, day).until
