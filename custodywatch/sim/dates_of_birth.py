"""Dates of birth as JSON text, looked up in a table of every day they can be."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from custodywatch.sim.timefmt import Calendar


class Dobs:
    """Dates of birth as JSON strings ('"YYYY-MM-DD"'), from a table of every day they can be.

    `__call__(day, age, days)` is the date `round(age * 365.2425) + days` days
    before the calendar's day `day` (T0's UTC date), for `days` in 3..360: at
    most a day from "`days` days before the `age`-th birthday", so the calendar
    age on T0's date is `age` whichever time zone reads T0. The fast path
    inlines it.
    """

    __slots__ = ("day_index", "first", "table")

    def __init__(self, cal: Calendar, max_age: int = 100) -> None:
        first_year = date.fromordinal(cal.ordinal[0]).year - max_age - 1
        last_year = date.fromordinal(cal.ordinal[-1]).year
        self.first = date(first_year, 1, 1).toordinal()
        self.table: list[str] = []
        for year in range(first_year, last_year + 1):
            days = _MONTH_DAYS_LEAP if calendar.isleap(year) else _MONTH_DAYS
            head = f'"{year:04d}-'
            self.table += [head + md for md in days]
        self.day_index = [o - self.first for o in cal.ordinal]  # a calendar day in `table`

    def __call__(self, day: int, age: int, days: int) -> str:
        return self.table[self.day_index[day] - years_back(age) - days]


def years_back(age: int) -> int:
    """`age` years in days, to within a day."""
    return round(age * 365.2425)


_MONTH_DAYS = [f'{d:%m-%d}"' for d in (date(2001, 1, 1) + timedelta(i) for i in range(365))]
_MONTH_DAYS_LEAP = [f'{d:%m-%d}"' for d in (date(2000, 1, 1) + timedelta(i) for i in range(366))]
