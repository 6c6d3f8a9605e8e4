"""Periods: whole local days, the kind's calendar unit, and the period just before."""

from datetime import date, datetime

import pytest

from analytics.periods import Period, PeriodError, PeriodKind
from tests.clock import SHANGHAI


@pytest.mark.parametrize(
    ("kind", "day", "first", "last"),
    [
        ("day", date(2027, 3, 1), date(2027, 3, 1), date(2027, 3, 1)),
        ("week", date(2027, 3, 3), date(2027, 3, 1), date(2027, 3, 7)),  # Monday first
        ("month", date(2028, 2, 15), date(2028, 2, 1), date(2028, 2, 29)),  # leap year
        ("quarter", date(2027, 5, 20), date(2027, 4, 1), date(2027, 6, 30)),
        ("year", date(2027, 12, 31), date(2027, 1, 1), date(2027, 12, 31)),
    ],
)
def test_a_period_is_the_calendar_unit_containing_the_day(kind, day, first, last):
    period = Period.containing(kind, day)

    assert (period.first, period.last) == (first, last)


@pytest.mark.parametrize(
    ("kind", "day", "first", "last"),
    [
        ("day", date(2027, 3, 1), date(2027, 2, 28), date(2027, 2, 28)),
        ("week", date(2027, 1, 6), date(2026, 12, 28), date(2027, 1, 3)),
        ("month", date(2027, 3, 31), date(2027, 2, 1), date(2027, 2, 28)),
        ("quarter", date(2027, 1, 1), date(2026, 10, 1), date(2026, 12, 31)),
        ("year", date(2028, 2, 29), date(2027, 1, 1), date(2027, 12, 31)),
    ],
)
def test_the_previous_period_is_the_unit_just_before(kind, day, first, last):
    previous = Period.containing(kind, day).previous()

    assert (previous.kind, previous.first, previous.last) == (PeriodKind(kind), first, last)


def test_the_previous_range_has_as_many_days_just_before():
    previous = Period.between(date(2027, 3, 10), date(2027, 3, 19)).previous()

    assert (previous.first, previous.last) == (date(2027, 2, 28), date(2027, 3, 9))


def test_a_period_starts_and_ends_at_local_midnight():
    period = Period.containing("month", date(2027, 3, 15))

    assert period.since == datetime(2027, 3, 1, tzinfo=SHANGHAI)
    assert period.until == datetime(2027, 4, 1, tzinfo=SHANGHAI)


def test_a_range_ending_before_it_starts_is_refused():
    with pytest.raises(PeriodError, match="ends before it starts"):
        Period.between(date(2027, 3, 2), date(2027, 3, 1))


def test_a_range_longer_than_three_years_is_refused():
    with pytest.raises(PeriodError, match="at most three years"):
        Period.between(date(2020, 1, 1), date(2027, 1, 1))
