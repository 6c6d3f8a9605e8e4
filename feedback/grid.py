"""The loyalty grid (seed 002): behavioural loyalty (frequency and recency of purchases) x
attitudinal loyalty (latest NPS, intent to buy again, advocacy), giving six types.

Like the stages: one query per chunk computes the figures, one pure function (`loyalty_type_for`)
places a member, and only changed placements are written, each with a history row.
"""

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Exists, F, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from core.chunks import ChunkResult
from core.config_cache import ConfigCache
from jobs.incremental import recorded_since, runs_finished_since
from members.journey import member_ids_of, record_changes, referrers_with_news
from members.models import ChangeKind, LapseState, LoyaltyType, Member, Purchase, Return, StageChange
from members.selectors import members_in_chunk
from rewards.models import EntryKind, LedgerEntry

from .models import Answer, Feedback, GridPolicy, SurveyResponse

_policy = ConfigCache(lambda: GridPolicy.objects.get_or_create(pk=1)[0])
grid_policy = _policy.get
grid_policy_invalidate = _policy.invalidate

FIGURES = (
    "window_purchases",
    "lapse_state",
    "latest_nps",
    "buy_again",
    "referral_buyer",
    "reviewed",
    "earned_points",
    "promo_points",
)
# The 2 x 3 grid as the admin shows it: attitude (rows) by behaviour (columns).
GRID = [
    ("Attitude high", [LoyaltyType.LATENT, LoyaltyType.COMMITTED, LoyaltyType.FANATICAL]),
    ("Attitude low", [LoyaltyType.NONE, LoyaltyType.INERTIA, LoyaltyType.MERCENARY]),
]


def _sum(queryset, expression) -> Coalesce:
    total = queryset.order_by().values("member").annotate(total=Sum(expression)).values("total")
    return Coalesce(Subquery(total, output_field=IntegerField()), 0)


def with_grid_figures(members: QuerySet, *, as_of: datetime, policy: GridPolicy) -> QuerySet:
    since = as_of - timedelta(days=policy.window_days)
    window = Purchase.objects.filter(member=OuterRef("pk"), occurred_at__gt=since, occurred_at__lte=as_of)
    qualifying = window.filter(returned_amount__lt=F("total"))
    bonuses = LedgerEntry.objects.filter(
        member=OuterRef("pk"), kind=EntryKind.BONUS, created_at__gt=since, created_at__lte=as_of
    )
    latest_nps = Feedback.objects.filter(member=OuterRef("pk"), nps__isnull=False).order_by("-created_at", "-id")
    latest_intent = Answer.objects.filter(response__member=OuterRef("pk"), question__key="would-buy-again").order_by(
        "-response__submitted_at", "-id"
    )
    count = qualifying.order_by().values("member").annotate(n=Count("*")).values("n")
    return members.annotate(
        window_purchases=Coalesce(Subquery(count, output_field=IntegerField()), 0),
        latest_nps=Subquery(latest_nps.values("nps")[:1]),
        buy_again=Subquery(latest_intent.values("number")[:1]),
        referral_buyer=Exists(Member.objects.filter(referred_by=OuterRef("pk"), purchase_count__gt=0)),
        reviewed=Exists(Feedback.objects.filter(member=OuterRef("pk")).exclude(comment="")),
        earned_points=_sum(window, "points_earned") + _sum(bonuses, "points"),
        promo_points=_sum(window, F("points_earned") - F("base_points")) + _sum(bonuses, "points"),
    )


def loyalty_type_for(figures: Mapping, policy: GridPolicy) -> str:
    behaviour_high = (
        figures["window_purchases"] >= policy.behaviour_min_purchases and figures["lapse_state"] != LapseState.LAPSED
    )
    nps = figures["latest_nps"]
    promoter = nps is not None and nps >= policy.promoter_min_nps
    advocating = figures["referral_buyer"] or (promoter and figures["reviewed"])
    attached = nps is not None and nps >= policy.passive_min_nps and figures["buy_again"] == 1
    attitude_high = promoter or attached or advocating
    if behaviour_high and attitude_high:
        return LoyaltyType.FANATICAL if advocating else LoyaltyType.COMMITTED
    if behaviour_high:
        earned = figures["earned_points"]
        bought = earned > 0 and Decimal(figures["promo_points"]) / earned > policy.mercenary_share
        return LoyaltyType.MERCENARY if bought else LoyaltyType.INERTIA
    return LoyaltyType.LATENT if attitude_high else LoyaltyType.NONE


def _rows(members: QuerySet, *, as_of: datetime, policy: GridPolicy):
    annotated = with_grid_figures(members, as_of=as_of, policy=policy)
    return annotated.values("pk", "loyalty_type", *FIGURES).iterator(chunk_size=2000)


def _reason(row: Mapping) -> str:
    return (
        f"{row['new']}: {row['window_purchases']} purchases in the window ({row['lapse_state']}), "
        f"NPS {row['latest_nps'] if row['latest_nps'] is not None else '-'}, "
        f"{row['promo_points']}/{row['earned_points']} points from promotions"
    )


def grid_candidates(as_of: datetime, previous_run=None) -> set[int] | None:
    """Everyone for a first or full run. After a previous run, the members whose figures may have
    moved since: a purchase or a bonus entered or left the window; a purchase, return or bonus was
    recorded; a member lapsed or was won back; feedback or a survey answer arrived; a referred
    member bought or returned."""
    if previous_run is None:
        return None
    window = timedelta(days=grid_policy().window_days)
    recorded = recorded_since(previous_run)
    entered = {"occurred_at__gt": previous_run.as_of, "occurred_at__lte": as_of}
    left = {"occurred_at__gt": previous_run.as_of - window, "occurred_at__lte": as_of - window}
    bonuses = LedgerEntry.objects.filter(kind=EntryKind.BONUS)
    lapses = StageChange.objects.filter(kind=ChangeKind.LAPSE)
    return member_ids_of(
        Purchase.objects.filter(**entered).values_list("member_id"),
        Purchase.objects.filter(**left).values_list("member_id"),
        Purchase.objects.filter(created_at__gt=recorded).values_list("member_id"),
        bonuses.filter(created_at__gt=left["occurred_at__gt"], created_at__lte=left["occurred_at__lte"]).values_list(
            "member_id"
        ),
        bonuses.filter(created_at__gt=recorded).values_list("member_id"),
        Return.objects.filter(created_at__gt=recorded).values_list("purchase__member_id"),
        lapses.filter(run__in=runs_finished_since(previous_run, "detect_lapse")).values_list("member_id"),
        lapses.filter(to_value=LapseState.WON_BACK, created_at__gt=recorded).values_list("member_id"),
        Feedback.objects.filter(created_at__gt=recorded, member__isnull=False).values_list("member_id"),
        SurveyResponse.objects.filter(submitted_at__gt=recorded, member__isnull=False).values_list("member_id"),
        *referrers_with_news(recorded),
    )


@transaction.atomic
def grid_place(
    *, as_of: datetime, member_id_from: int, member_id_to: int, member_ids: list[int] | None = None, run=None
) -> ChunkResult:
    """Place the members in [from, to) (only `member_ids` of them, if given) on the grid as of
    `as_of`; write only the changes."""
    policy = grid_policy()
    chunk = members_in_chunk(member_id_from, member_id_to, member_ids)
    changed, examined = [], 0
    for row in _rows(chunk, as_of=as_of, policy=policy):
        examined += 1
        row["new"] = loyalty_type_for(row, policy)
        if row["new"] != row["loyalty_type"]:
            changed.append(row)
    record_changes(changed, kind=ChangeKind.GRID, field="loyalty_type", reason=_reason, figures=FIGURES, run=run)
    return ChunkResult(examined, len(changed))


def grid_counts() -> list[tuple[str, list[tuple[str, str, int]]]]:
    """The 2 x 3 grid with how many members sit in each cell, as stored by the last run."""
    counts = Counter(dict(Member.objects.order_by().values_list("loyalty_type").annotate(n=Count("pk"))))
    labels = dict(LoyaltyType.choices)
    return [(row, [(code, labels[code], counts.get(code, 0)) for code in cells]) for row, cells in GRID]
