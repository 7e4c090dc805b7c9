"""Fast RFC 3339 formatting and local-calendar facts for whole-second UTC times.

The simulator keeps time as integer seconds since the Unix epoch (UTC). Calling
`datetime.isoformat` for every event is too slow for the hot path, so a
`Calendar` precomputes, for every day a run can touch, the date prefix, the
local UTC offset, the weekday and the calendar month.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

DAY = 86_400
HOUR = 3_600
MINUTE = 60

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

HM: tuple[str, ...] = tuple(f"{h:02d}:{m:02d}" for h in range(24) for m in range(60))
"""'HH:MM' for each minute of the day."""

SS_UTC: tuple[str, ...] = tuple(f":{s:02d}+00:00" for s in range(60))
"""':SS+00:00' for each second of a minute."""


@cache
def time_of_day() -> tuple[str, ...]:
    """'HH:MM:SS+00:00' for each second of the day (86,400 strings, built once)."""
    return tuple(hm + ":" + ss[1:] for hm in HM for ss in SS_UTC)


@cache
def minute_second() -> tuple[str, ...]:
    """'MM:SS+00:00' for each second of an hour (3,600 strings, built once).

    With 'YYYY-MM-DDTHH:' per hour, a timestamp from two small tables: small
    enough to stay in the CPU cache, unlike one string per second of the day.
    """
    return tuple(hm[3:] + ss for hm in HM[:60] for ss in SS_UTC)


def to_seconds(moment: datetime) -> int:
    """An aware datetime -> whole seconds since the epoch (UTC), truncating."""
    if moment.tzinfo is None:
        raise ValueError("timestamp needs an offset")
    return int(moment.astimezone(UTC).timestamp() // 1)


def rfc3339(seconds: int) -> str:
    """Slow but obviously correct reference formatter (UTC, '+00:00')."""
    return datetime.fromtimestamp(seconds, UTC).isoformat()


class Calendar:
    """Per-day lookup tables for days `first_day .. last_day` (epoch day numbers)."""

    __slots__ = (
        "first_day",
        "last_day",
        "local_offset",
        "month",
        "month_index",
        "ordinal",
        "prefix",
        "weekday",
    )

    def __init__(self, first_day: int, last_day: int, zone: str) -> None:
        tz = ZoneInfo(zone)
        self.first_day = first_day
        self.last_day = last_day
        self.prefix: list[str] = []
        self.local_offset: list[int] = []
        self.weekday: list[int] = []
        self.month: list[int] = []
        self.ordinal: list[int] = []
        self.month_index: list[int] = []
        for day in range(first_day, last_day + 1):
            d = date.fromordinal(day + _EPOCH_ORDINAL)
            self.prefix.append(d.isoformat() + "T")
            noon = datetime(d.year, d.month, d.day, 12, tzinfo=UTC).astimezone(tz)
            offset = noon.utcoffset() or timedelta(0)
            self.local_offset.append(int(offset.total_seconds()))
            self.weekday.append(d.weekday())
            self.month.append(d.month)
            self.ordinal.append(d.toordinal())
            self.month_index.append(d.year * 12 + d.month - 1)

    @classmethod
    def covering(cls, start: int, end: int, zone: str, margin_days: int = 30) -> Calendar:
        return cls(start // DAY - margin_days, end // DAY + margin_days, zone)

    def fmt(self, seconds: int) -> str:
        """RFC 3339 with '+00:00'; falls back to datetime outside the table."""
        i = seconds // DAY - self.first_day
        if 0 <= i < len(self.prefix):
            r = seconds % DAY
            return self.prefix[i] + HM[r // MINUTE] + SS_UTC[r % MINUTE]
        return rfc3339(seconds)

    def index(self, seconds: int) -> int:
        """Row of the UTC day of `seconds` (clamped to the table)."""
        i = seconds // DAY - self.first_day
        return min(max(i, 0), len(self.prefix) - 1)

    def local_hour(self, seconds: int) -> int:
        i = self.index(seconds)
        return ((seconds + self.local_offset[i]) % DAY) // HOUR

    def month_key(self, seconds: int) -> str:
        """'YYYY-MM' of the UTC date."""
        i = self.index(seconds)
        return self.prefix[i][:7]
