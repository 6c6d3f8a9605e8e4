"""Frozen clocks for tests that depend on the date (time-machine)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

SHANGHAI = ZoneInfo("Asia/Shanghai")

# The moments a date-sensitive test is run at (business time is Asia/Shanghai, UTC+8, stored in
# UTC): where the local and the UTC date differ, month and year ends, and a leap day.
FROZEN_DATES = {
    "1st-0030": datetime(2027, 3, 1, 0, 30, tzinfo=SHANGHAI),  # the 1st; in UTC still 28 Feb
    "month-end": datetime(2027, 4, 30, 12, 0, tzinfo=SHANGHAI),  # the last day of a 30-day month
    "leap-day": datetime(2028, 2, 29, 7, 0, tzinfo=SHANGHAI),  # in UTC still 28 Feb
    "year-end-2330": datetime(2027, 12, 31, 23, 30, tzinfo=SHANGHAI),  # 15:30 UTC, half an hour to 2028
}


def shanghai(*args) -> datetime:
    """A moment given as Shanghai wall-clock time: shanghai(2027, 12, 31, 23, 30)."""
    return datetime(*args, tzinfo=SHANGHAI)


def at(moment: datetime, *, tick: bool = False):
    """The clock stopped at `moment` for a `with` block: for boundary tests that need an exact
    "now" (a purchase at 00:30 on the 1st)."""
    return time_machine.travel(moment, tick=tick)
