"""The periods and filters every metric is asked for.

A period is a run of whole local days (business time zone): a calendar day, ISO week (Monday
first), month, quarter or year containing a date, or any from/to range. Its `previous()` is the
period of the same kind just before it (a from/to range: the same number of days just before).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.dates import add_months


class PeriodKind(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    RANGE = "range"


PERIOD_LABELS = {
    PeriodKind.DAY: _("Day"),
    PeriodKind.WEEK: _("Week"),
    PeriodKind.MONTH: _("Month"),
    PeriodKind.QUARTER: _("Quarter"),
    PeriodKind.YEAR: _("Year"),
    PeriodKind.RANGE: _("From / to"),
}

# A from/to range longer than this is refused: the dashboard's trend would have tens of
# thousands of points and the queries scan years of receipts for nothing a person can read.
MAX_RANGE_DAYS = 3 * 366


class PeriodError(ValueError):
    """A period that cannot be asked for (the message says why, for a form or an API error)."""


def _start_of(kind: PeriodKind, day: date) -> date:
    if kind == PeriodKind.WEEK:
        return day - timedelta(days=day.weekday())
    if kind == PeriodKind.MONTH:
        return day.replace(day=1)
    if kind == PeriodKind.QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if kind == PeriodKind.YEAR:
        return date(day.year, 1, 1)
    return day


def _months(kind: PeriodKind) -> int:
    return {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}.get(kind, 0)


@dataclass(frozen=True)
class Period:
    """Local days `first` to `last`, both included."""

    kind: PeriodKind
    first: date
    last: date

    @classmethod
    def containing(cls, kind: PeriodKind | str, day: date) -> "Period":
        kind = PeriodKind(kind)
        if kind == PeriodKind.RANGE:
            raise PeriodError(_("A from/to period needs both dates."))
        first = _start_of(kind, day)
        if kind == PeriodKind.DAY:
            return cls(kind, first, first)
        if kind == PeriodKind.WEEK:
            return cls(kind, first, first + timedelta(days=6))
        return cls(kind, first, _add_months(first, _months(kind)) - timedelta(days=1))

    @classmethod
    def between(cls, first: date, last: date) -> "Period":
        if last < first:
            raise PeriodError(_("The period ends before it starts."))
        if (last - first).days >= MAX_RANGE_DAYS:
            raise PeriodError(_("A period can be at most three years long."))
        return cls(PeriodKind.RANGE, first, last)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def since(self) -> datetime:
        """The period's first moment (aware, business time zone)."""
        return _local_midnight(self.first)

    @property
    def until(self) -> datetime:
        """The moment just after the period (exclusive end)."""
        return _local_midnight(self.last + timedelta(days=1))

    def previous(self) -> "Period":
        if self.kind == PeriodKind.RANGE:
            return Period(self.kind, self.first - timedelta(days=self.days), self.first - timedelta(days=1))
        return Period.containing(self.kind, self.first - timedelta(days=1))

    def moments(self) -> Q:
        """`occurred_at` within the period, for purchases."""
        return Q(occurred_at__gte=self.since, occurred_at__lt=self.until)

    def __str__(self):
        return f"{self.first.isoformat()}..{self.last.isoformat()}"


def _add_months(day: date, months: int) -> date:
    return add_months(datetime.combine(day, time()), months).date()


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time()), timezone.get_default_timezone())


def month_starts(first: date, last: date) -> list[date]:
    """The first day of every month from `first`'s month to `last`'s, in order."""
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = _add_months(month, 1)
    return months


@dataclass(frozen=True)
class Filters:
    """Which purchases (and members) a metric looks at; None means all."""

    store_id: int | None = None
    channel: str | None = None
    tier_id: int | None = None

    def purchases(self, prefix: str = "") -> Q:
        """The filter on purchases (or on a relation to them, given its prefix)."""
        q = Q()
        if self.store_id is not None:
            q &= Q(**{f"{prefix}store_id": self.store_id})
        if self.channel:
            q &= Q(**{f"{prefix}channel": self.channel})
        if self.tier_id is not None:
            q &= Q(**{f"{prefix}member__tier_id": self.tier_id})
        return q

    def members(self, prefix: str = "") -> Q:
        """The filter on members: their current tier, the store and channel that enrolled them."""
        q = Q()
        if self.store_id is not None:
            q &= Q(**{f"{prefix}enrolled_store_id": self.store_id})
        if self.channel:
            q &= Q(**{f"{prefix}enrolled_channel": self.channel})
        if self.tier_id is not None:
            q &= Q(**{f"{prefix}tier_id": self.tier_id})
        return q


EVERYTHING = Filters()
