"""The six-stage journey and lapse.

One query per chunk of members computes the figures the rules read (purchases in the window,
categories and channels bought in, referrals, NPS); one pure function (`stage_for`) turns figures
into a stage. The purchase path applies them to one member, the nightly job to the members time
may have moved. Only changed stages are written, so a run with nothing to change writes nothing.
Every change is a `StageChange` row with the rule that fired and its figures.
"""

import functools
import itertools
import operator
import statistics
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.chunks import ChunkResult
from core.config_cache import ConfigCache
from core.unit_of_work import UnitOfWork
from events import services as events
from events.types import EventType
from feedback.models import Feedback
from jobs.incremental import recorded_since

from .locking import members_locked
from .models import (
    ChangeKind,
    HabitDimension,
    LapseState,
    Member,
    MemberHabit,
    Purchase,
    Return,
    Stage,
    StageChange,
    StagePolicy,
)
from .selectors import member_refs, members_in_chunk

FIGURES = ("window_purchases", "window_categories", "window_channels", "referral_buyer", "latest_nps", "reviewed")
MEMBER_FIELDS = ("purchase_count", "consent_email", "consent_sms", "last_engaged_at")
_policy = ConfigCache(lambda: StagePolicy.objects.get_or_create(pk=1)[0])
stage_policy = _policy.get
stage_policy_invalidate = _policy.invalidate


def _count(queryset) -> Coalesce:
    counted = queryset.order_by().values("member").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def with_stage_figures(members: QuerySet, *, as_of: datetime, policy: StagePolicy) -> QuerySet:
    """Annotate the figures the stage rules read, as of `as_of`."""
    since = as_of - timedelta(days=policy.window_days)
    in_window = Purchase.objects.filter(
        member=OuterRef("pk"), occurred_at__gt=since, occurred_at__lte=as_of, returned_amount__lt=F("total")
    )
    habits = MemberHabit.objects.filter(member=OuterRef("pk"), last_at__gt=since)
    latest_nps = Feedback.objects.filter(member=OuterRef("pk"), nps__isnull=False).order_by("-created_at", "-id")
    return members.annotate(
        window_purchases=_count(in_window),
        window_categories=_count(habits.filter(dimension=HabitDimension.CATEGORY)),
        window_channels=_count(habits.filter(dimension=HabitDimension.CHANNEL)),
        referral_buyer=Exists(Member.objects.filter(referred_by=OuterRef("pk"), purchase_count__gt=0)),
        latest_nps=Subquery(latest_nps.values("nps")[:1]),
        reviewed=Exists(Feedback.objects.filter(member=OuterRef("pk")).exclude(comment="")),
    )


# --- the stage rule, defined once ---------------------------------------------------------------
#
# The rule is data: for each stage, highest first, a condition on the figures. `stage_for` reads
# it for one member's figures in Python (the purchase path); `stage_expression` renders it to one
# SQL CASE over the annotated figures (set-based: the nightly baseline, previews).


@dataclass(frozen=True)
class AtLeast:
    figure: str
    minimum: int

    def holds(self, figures: Mapping) -> bool:
        value = figures[self.figure]
        return value is not None and value >= self.minimum

    def q(self) -> Q:
        return Q(**{f"{self.figure}__gte": self.minimum})


@dataclass(frozen=True)
class IsTrue:
    figure: str

    def holds(self, figures: Mapping) -> bool:
        return bool(figures[self.figure])

    def q(self) -> Q:
        return Q(**{self.figure: True})


@dataclass(frozen=True)
class IsKnown:
    figure: str

    def holds(self, figures: Mapping) -> bool:
        return figures[self.figure] is not None

    def q(self) -> Q:
        return Q(**{f"{self.figure}__isnull": False})


@dataclass(frozen=True)
class AllOf:
    parts: tuple

    def holds(self, figures: Mapping) -> bool:
        return all(part.holds(figures) for part in self.parts)

    def q(self) -> Q:
        return functools.reduce(operator.and_, (part.q() for part in self.parts))


@dataclass(frozen=True)
class AnyOf:
    parts: tuple

    def holds(self, figures: Mapping) -> bool:
        return any(part.holds(figures) for part in self.parts)

    def q(self) -> Q:
        return functools.reduce(operator.or_, (part.q() for part in self.parts))


def stage_rules(policy: StagePolicy) -> list[tuple[str, AtLeast | IsTrue | IsKnown | AllOf | AnyOf]]:
    """The stages (DOMAIN.md section 1) and their conditions, highest rule first; a member no
    rule fits is a prospect."""
    repeat = AtLeast("window_purchases", policy.repeat_min_purchases)
    promoter = AllOf((AtLeast("latest_nps", policy.advocate_min_nps), IsTrue("reviewed")))
    broad = AnyOf(
        (AtLeast("window_categories", policy.core_min_categories), AtLeast("window_channels", policy.core_min_channels))
    )
    return [
        (Stage.ADVOCATE, AllOf((repeat, AnyOf((IsTrue("referral_buyer"), promoter))))),
        (Stage.CORE, AllOf((AtLeast("window_purchases", policy.core_min_purchases), broad))),
        (Stage.REPEAT, repeat),
        (Stage.FIRST_TIME, AtLeast("purchase_count", 1)),
        (Stage.TARGET, AnyOf((IsTrue("consent_email"), IsTrue("consent_sms"), IsKnown("last_engaged_at")))),
    ]


def stage_for(figures: Mapping, policy: StagePolicy) -> str:
    """The stage one member's figures put them in: the first rule that holds."""
    for stage, condition in stage_rules(policy):
        if condition.holds(figures):
            return stage
    return Stage.PROSPECT


def stage_expression(policy: StagePolicy) -> Case:
    """The same rule as one SQL CASE over the figures of `with_stage_figures` (set-based)."""
    whens = [When(condition.q(), then=Value(stage)) for stage, condition in stage_rules(policy)]
    return Case(*whens, default=Value(Stage.PROSPECT), output_field=CharField())


def members_with_stage(members: QuerySet, *, as_of: datetime, policy: StagePolicy) -> QuerySet:
    """`members` annotated with their figures and `computed_stage` as of `as_of`, in one query: the
    set-based form of the stage rule (`bench/nightly.py`'s baseline renders it with
    `.query.sql_with_params()`)."""
    return with_stage_figures(members, as_of=as_of, policy=policy).annotate(computed_stage=stage_expression(policy))


def _reason(stage: str, figures: dict, policy: StagePolicy) -> str:
    window = f"{figures['window_purchases']} purchases in {policy.window_days} days"
    if stage == Stage.ADVOCATE:
        why = "a referred member bought" if figures["referral_buyer"] else f"NPS {figures['latest_nps']} with a review"
        return f"advocate: {window}, {why}"
    if stage == Stage.CORE:
        return f"core: {window}, {figures['window_categories']} categories, {figures['window_channels']} channels"
    if stage == Stage.REPEAT:
        return f"repeat: {window}"
    if stage == Stage.FIRST_TIME:
        return f"first-time buyer: {figures['purchase_count']} qualifying purchase(s), {window}"
    if stage == Stage.TARGET:
        return "target: opted in or engaged, no qualifying purchase yet"
    return "prospect: known contact, no opt-in and no qualifying purchase"


def _figure_rows(members: QuerySet, *, as_of: datetime, policy: StagePolicy):
    annotated = with_stage_figures(members, as_of=as_of, policy=policy)
    return annotated.values("pk", "stage", *MEMBER_FIELDS, *FIGURES).iterator(chunk_size=2000)


def _changed_rows(members: QuerySet, *, as_of: datetime, policy: StagePolicy) -> list[dict]:
    changed = []
    for row in _figure_rows(members, as_of=as_of, policy=policy):
        row["new"] = stage_for(row, policy)
        if row["new"] != row["stage"]:
            changed.append(row)
    return changed


def record_changes(
    rows: list[dict], *, kind: str, field: str, reason, figures: tuple[str, ...], run=None, **also
) -> int:
    """Write a history row per changed member and move `field` to each row's "new" value, with
    one UPDATE per distinct new value. Rows carry "pk", the old value under `field` and "new"."""
    StageChange.objects.bulk_create(
        StageChange(
            member_id=row["pk"],
            kind=kind,
            from_value=row[field],
            to_value=row["new"],
            reason=reason(row)[:300],
            figures={key: row[key] for key in figures},
            run=run,
        )
        for row in rows
    )
    by_value: dict[str, list[int]] = {}
    for row in rows:
        by_value.setdefault(row["new"], []).append(row["pk"])
    for value, ids in by_value.items():
        Member.objects.filter(pk__in=ids).update(**{field: value}, **also)
    return len(rows)


def _apply(rows: list[dict], *, as_of: datetime, policy: StagePolicy, run=None) -> int:
    refs = member_refs(row["pk"] for row in rows)
    events.record_many(
        events.build(EventType.STAGE_CHANGED, member=refs[row["pk"]], data={"from": row["stage"], "to": row["new"]})
        for row in rows
    )
    return record_changes(
        rows,
        kind=ChangeKind.STAGE,
        field="stage",
        reason=lambda row: _reason(row["new"], row, policy),
        figures=("purchase_count", *FIGURES),
        run=run,
        stage_changed_at=as_of,
    )


# Stand-ins compiled into the one-member figures statement, swapped for the real values per call.
_SAMPLE_MEMBER_ID = -7_319_001
_SAMPLE_AS_OF = datetime(1901, 2, 3, 4, 5, 6, tzinfo=UTC)
_ONE_MEMBER_COLUMNS = ("stage", *MEMBER_FIELDS, *FIGURES)


@functools.cache
def _one_member_figures(window_days: int) -> tuple[str, tuple]:
    """`with_stage_figures` narrowed to one member, compiled by the ORM once per window: building
    the query costs more than running it, on every purchase that may move the stage. The text is
    the ORM's own, so the per-member and set-based figures cannot disagree; only the parameters
    change (the stand-ins for member, moment and window start)."""
    policy = StagePolicy(window_days=window_days)
    members = Member.objects.filter(pk=_SAMPLE_MEMBER_ID)
    figures = with_stage_figures(members, as_of=_SAMPLE_AS_OF, policy=policy).values(*_ONE_MEMBER_COLUMNS)
    sql, params = figures.query.sql_with_params()
    stand_ins = {_SAMPLE_MEMBER_ID, _SAMPLE_AS_OF, _SAMPLE_AS_OF - timedelta(days=window_days)}
    if not stand_ins <= set(params):
        raise AssertionError("the stage figures query no longer takes its member and moments as parameters")
    return sql, tuple(params)


def member_stage_figures(
    *, member_id: int, as_of: datetime, policy: StagePolicy, work: UnitOfWork | None = None
) -> dict:
    """The figures of `with_stage_figures` for one member. With `work`, what it holds (this
    purchase's habits) goes in the same round trip, ahead of the read."""
    sql, params = _one_member_figures(policy.window_days)
    since = as_of - timedelta(days=policy.window_days)
    real = {
        _SAMPLE_MEMBER_ID: member_id,
        _SAMPLE_AS_OF: as_of,
        _SAMPLE_AS_OF - timedelta(days=policy.window_days): since,
    }
    bound = [real.get(value, value) if isinstance(value, int | datetime) else value for value in params]
    (row,) = (work or UnitOfWork()).read_statement(sql, bound)
    return dict(zip(_ONE_MEMBER_COLUMNS, row, strict=True))


def member_stage_refresh(*, member: Member, work: UnitOfWork | None = None) -> None:
    """Re-evaluate one member's stage now, with the member row locked. The member's in-memory
    counts are the truth (the caller's unit of work may not have sent them yet). Without `work`
    the change is written at once."""
    own = work is None
    work = UnitOfWork() if own else work
    policy, now = stage_policy(), timezone.now()
    row = member_stage_figures(member_id=member.pk, as_of=now, policy=policy, work=work)
    row.update(pk=member.pk, stage=member.stage, purchase_count=member.purchase_count)
    row["new"] = stage_for(row, policy)
    if row["new"] != row["stage"]:
        work.insert(_stage_change(row, policy))
        work.insert(events.build(EventType.STAGE_CHANGED, member=member, data={"from": row["stage"], "to": row["new"]}))
        member.stage, member.stage_changed_at = row["new"], now
        work.save_fields(member, "stage", "stage_changed_at")
    if own:
        work.flush()


def _stage_change(row: dict, policy: StagePolicy) -> StageChange:
    return StageChange(
        member_id=row["pk"],
        kind=ChangeKind.STAGE,
        from_value=row["stage"],
        to_value=row["new"],
        reason=_reason(row["new"], row, policy)[:300],
        figures={key: row[key] for key in ("purchase_count", *FIGURES)},
        created_at=timezone.now(),
    )


def purchase_cannot_move_stage(stage: str, purchase_count: int, policy: StagePolicy) -> bool:
    """True when one more purchase cannot change a correctly placed member's stage, so the purchase
    path can skip the figures query. A purchase adds purchases, categories and channels; it does
    not add referrals or NPS answers, which are all that lift a core customer (or a repeat buyer
    short of the core count) any higher. Moves down are the nightly job's."""
    if stage in (Stage.ADVOCATE, Stage.CORE):
        return True
    return stage == Stage.REPEAT and purchase_count < policy.core_min_purchases


def member_stage_after_purchase(*, member: Member, work: UnitOfWork) -> None:
    """The stage side of a purchase (member locked, aggregates counted in memory)."""
    if purchase_cannot_move_stage(member.stage, member.purchase_count, stage_policy()):
        return
    if member.purchase_count == 1 and member.stage in (Stage.PROSPECT, Stage.TARGET):
        # One qualifying purchase can satisfy no rule above first-time buyer: no figures needed.
        _first_purchase(member, work)
        return
    member_stage_refresh(member=member, work=work)


def _first_purchase(member: Member, work: UnitOfWork) -> None:
    now = timezone.now()
    change = StageChange(
        member_id=member.pk,
        kind=ChangeKind.STAGE,
        from_value=member.stage,
        to_value=Stage.FIRST_TIME,
        reason="first-time buyer: first qualifying purchase",
        figures={"purchase_count": 1},
        created_at=now,
    )
    work.insert(change)
    work.insert(
        events.build(EventType.STAGE_CHANGED, member=member, data={"from": member.stage, "to": Stage.FIRST_TIME})
    )
    member.stage, member.stage_changed_at = Stage.FIRST_TIME, now
    work.save_fields(member, "stage", "stage_changed_at")


def stage_candidates(as_of: datetime, previous_run=None) -> set[int] | None:
    """Everyone for a first or full run. After a previous run, only the members something
    time-based may have moved since: a purchase left the window, a referred member bought or
    returned, feedback arrived (recorded, not occurred: a till that uploads late must not be
    missed). Purchases and returns move their own member's stage at once."""
    if previous_run is None:
        return None
    window = timedelta(days=stage_policy().window_days)
    recorded = recorded_since(previous_run)
    left_window = Purchase.objects.filter(occurred_at__gt=previous_run.as_of - window, occurred_at__lte=as_of - window)
    spoke = Feedback.objects.filter(created_at__gt=recorded, member__isnull=False)
    return member_ids_of(
        left_window.values_list("member_id"), spoke.values_list("member_id"), *referrers_with_news(recorded)
    )


def referrers_with_news(recorded: datetime) -> tuple[QuerySet, QuerySet]:
    """The referrers of members who bought or returned something recorded after `recorded`: the
    figure "a referred member bought" may have changed for them."""
    bought = Purchase.objects.filter(created_at__gt=recorded, member__referred_by__isnull=False)
    returned = Return.objects.filter(created_at__gt=recorded, purchase__member__referred_by__isnull=False)
    return bought.values_list("member__referred_by_id"), returned.values_list("purchase__member__referred_by_id")


def member_ids_of(*querysets: QuerySet) -> set[int]:
    """The union of member ids that several one-column querysets select."""
    return {member_id for queryset in querysets for (member_id,) in queryset.order_by().distinct()}


@transaction.atomic
def stages_promote(
    *, as_of: datetime, member_id_from: int, member_id_to: int, member_ids: list[int] | None = None, run=None
) -> ChunkResult:
    """Bring the stages of the members in [from, to) (only `member_ids` of them, if given) up to
    date as of `as_of`. Idempotent: a second run finds every stage already right and writes nothing."""
    policy = stage_policy()
    chunk = members_in_chunk(member_id_from, member_id_to, member_ids)
    rows = _changed_rows(chunk, as_of=as_of, policy=policy)
    if rows:
        # Purchases change stages too; lock the movers and decide again on the locked rows.
        movers = members_locked(Member.objects.filter(pk__in=[r["pk"] for r in rows]))
        ids = list(movers.values_list("pk", flat=True))
        rows = _changed_rows(Member.objects.filter(pk__in=ids), as_of=as_of, policy=policy)
    examined = chunk.count() if member_ids is None else len(member_ids)
    return ChunkResult(examined, _apply(rows, as_of=as_of, policy=policy, run=run))


def stage_counts(*, policy: StagePolicy, as_of: datetime | None = None) -> dict[str, int]:
    """How many members each stage would hold under `policy` (saved or not): the admin preview."""
    as_of, counts = as_of or timezone.now(), Counter()
    bounds = Member.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is not None:
        for start in range(bounds["low"], bounds["high"] + 1, settings.JOB_CHUNK_SIZE):
            chunk = Member.objects.filter(pk__gte=start, pk__lt=start + settings.JOB_CHUNK_SIZE)
            counts.update(stage_for(row, policy) for row in _figure_rows(chunk, as_of=as_of, policy=policy))
    return {stage: counts.get(stage, 0) for stage in Stage.values}


# --- lapse ---------------------------------------------------------------------------------


def _lapse_after(purchase_dates: list[datetime], policy: StagePolicy) -> timedelta:
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(purchase_dates)]
    median_gap = timedelta(seconds=statistics.median(gaps)) if gaps else timedelta(0)
    return max(timedelta(days=policy.lapse_min_days), median_gap * float(policy.lapse_gap_multiplier))


def lapse_due_provisional(last_purchase_at: datetime, policy: StagePolicy) -> datetime:
    """No one lapses sooner than `lapse_min_days` after their last purchase: the date a purchase
    sets, until the nightly job works out the member's own (later or equal) date once it passes."""
    return last_purchase_at + timedelta(days=policy.lapse_min_days)


def _qualifying_dates(member_ids: list[int]) -> dict[int, list[datetime]]:
    dates: dict[int, list[datetime]] = {}
    if not member_ids:
        return dates
    purchases = Purchase.objects.filter(
        # The id bounds steer the planner to the (member, occurred_at) index for long id lists.
        member_id__gte=min(member_ids),
        member_id__lte=max(member_ids),
        member_id__in=member_ids,
        returned_amount__lt=F("total"),
    )
    ordered = purchases.order_by("member_id", "occurred_at")
    for member_id, occurred_at in ordered.values_list("member_id", "occurred_at"):
        dates.setdefault(member_id, []).append(occurred_at)
    return dates


def _refresh_lapse_due(members: QuerySet, *, as_of: datetime, policy: StagePolicy, recompute: bool) -> None:
    """Bring the lapse dates of buyers not lapsed up to date: provisional until it passes (one
    UPDATE), then worked out from the member's own purchase gaps (again only with `recompute`: the
    rules may have changed). Writes only the dates that differ."""
    minimum = timedelta(days=policy.lapse_min_days)
    open_buyers = members.filter(last_purchase_at__isnull=False).exclude(lapse_state=LapseState.LAPSED)
    provisional = F("last_purchase_at") + minimum
    not_provisional = Q(lapse_due_at__isnull=True) | ~Q(lapse_due_at=provisional) | Q(lapse_basis_at__isnull=False)
    recent = open_buyers.filter(last_purchase_at__gt=as_of - minimum)
    recent.filter(not_provisional).update(lapse_due_at=provisional, lapse_basis_at=None)
    passed = open_buyers.filter(last_purchase_at__lte=as_of - minimum)
    if not recompute:
        passed = passed.filter(Q(lapse_basis_at__isnull=True) | ~Q(lapse_basis_at=F("last_purchase_at")))
    columns = ("pk", "last_purchase_at", "lapse_due_at", "lapse_basis_at")
    rows = list(passed.values_list(*columns))
    dates = _qualifying_dates([pk for pk, *_ in rows])
    read, updates = {}, {}
    for pk, last, due, basis in rows:
        target = (last + _lapse_after(dates.get(pk, []), policy), last)
        if (due, basis) != target:
            read[pk] = (last, due, basis)
            updates[pk] = Member(pk=pk, lapse_due_at=target[0], lapse_basis_at=target[1])
    # Only the rows about to change are locked, and written only if nobody moved them since they
    # were read (a purchase, or a return resetting the date): the next run works those out again.
    current = members_locked(Member.objects.filter(pk__in=updates))
    unchanged = [updates[pk] for pk, *values in current.values_list(*columns) if tuple(values) == read[pk]]
    work = UnitOfWork()
    work.update_rows(unchanged, ["lapse_due_at", "lapse_basis_at"])
    work.flush()


def lapse_candidates(as_of: datetime, previous_run=None) -> QuerySet | None:
    """Everyone for a first or full run (the lapse rules may have changed); after a previous run,
    the members whose lapse date has passed."""
    if previous_run is None:
        return None
    due = Member.objects.filter(lapse_due_at__lt=as_of).exclude(lapse_state=LapseState.LAPSED)
    return due.values_list("pk", flat=True)


@transaction.atomic
def lapse_detect(
    *, as_of: datetime, member_id_from: int, member_id_to: int, member_ids: list[int] | None = None, run=None
) -> ChunkResult:
    """Mark members lapsed who have not bought for longer than max(lapse_min_days, multiplier x
    their own median gap). Idempotent: a lapsed member is not looked at again until they buy."""
    policy = stage_policy()
    chunk = members_in_chunk(member_id_from, member_id_to, member_ids)
    _refresh_lapse_due(chunk, as_of=as_of, policy=policy, recompute=member_ids is None)
    examined = chunk.count() if member_ids is None else len(member_ids)
    # Only dates worked out from the member's current last purchase count: a purchase that raced
    # the refresh leaves a date the next run works out again.
    due = chunk.filter(lapse_due_at__lt=as_of, lapse_basis_at=F("last_purchase_at"))
    rows = list(
        members_locked(due.exclude(lapse_state=LapseState.LAPSED)).values_list(
            "pk", "lapse_state", "last_purchase_at", "lapse_due_at"
        )
    )
    StageChange.objects.bulk_create(
        StageChange(
            member_id=member_id,
            kind=ChangeKind.LAPSE,
            from_value=state,
            to_value=LapseState.LAPSED,
            reason=f"no purchase since {timezone.localtime(last):%Y-%m-%d}; lapsed after {(due_at - last).days} days",
            figures={"last_purchase_at": last.isoformat(), "threshold_days": (due_at - last).days},
            run=run,
        )
        for member_id, state, last, due_at in rows
    )
    Member.objects.filter(pk__in=[r[0] for r in rows]).update(lapse_state=LapseState.LAPSED)
    refs = member_refs(r[0] for r in rows)
    events.record_many(
        events.build(EventType.LAPSE_LAPSED, member=refs[member_id], data={"last_purchase_at": last})
        for member_id, _, last, _ in rows
    )
    return ChunkResult(examined, len(rows))


def member_won_back(*, member: Member, work: UnitOfWork) -> None:
    """A lapsed member bought again (member locked, inside the purchase transaction)."""
    if member.lapse_state != LapseState.LAPSED:
        return
    work.insert(
        StageChange(
            member=member,
            kind=ChangeKind.LAPSE,
            from_value=LapseState.LAPSED,
            to_value=LapseState.WON_BACK,
            reason="bought again after lapsing",
            figures={"purchase_at": member.last_purchase_at.isoformat()},
            created_at=timezone.now(),
        )
    )
    member.lapse_state = LapseState.WON_BACK
    work.save_fields(member, "lapse_state")
    work.insert(
        events.build(EventType.LAPSE_WON_BACK, member=member, data={"last_purchase_at": member.last_purchase_at})
    )


# --- habits --------------------------------------------------------------------------------

# One row per dimension and value: first/last dates take the earlier/later value, so a late
# upload of an old receipt does not move `last_at` back. A constant statement: the values travel
# as arrays.
_HABIT_UPSERT = """
INSERT INTO members_memberhabit (member_id, dimension, value, first_at, last_at, purchases)
SELECT %s, v.dimension, v.value, %s, %s, 1 FROM unnest(%s::varchar[], %s::varchar[]) AS v(dimension, value)
ON CONFLICT (member_id, dimension, value) DO UPDATE SET
    first_at = LEAST(excluded.first_at, members_memberhabit.first_at),
    last_at = GREATEST(excluded.last_at, members_memberhabit.last_at),
    purchases = members_memberhabit.purchases + 1
"""


def habits_record(*, member: Member, work: UnitOfWork, channel: str, categories: set[str], at: datetime) -> None:
    """Count one purchase towards the member's channel and categories, in one statement."""
    values = [(HabitDimension.CHANNEL, channel)] + [(HabitDimension.CATEGORY, c) for c in sorted(categories) if c]
    dimensions, names = [str(d) for d, _ in values], [v for _, v in values]
    work.statement(_HABIT_UPSERT, [member.pk, at, at, dimensions, names])
