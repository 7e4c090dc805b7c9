"""Time in the core: integer microseconds since the Unix epoch (UTC).

Integers keep "an event exactly at the due time cancels it" exact. The core
never reads the wall clock: callers pass the time in (event time in replay, the
wall clock in the live worker through a `Clock` adapter).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Clock(Protocol):
    """Where the current time comes from; the core only ever receives its value."""

    def now_us(self) -> int: ...


_ONE_US = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    """Exact integer arithmetic on an aware datetime (and a little faster than a float)."""
    return (moment - _EPOCH) // _ONE_US


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


_DAY_US = 86_400_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_PREFIX: dict[int, str] = {}
"""'YYYY-MM-DDT' by day since the epoch: a few hundred a year of history."""
_TWO_DIGITS = [f"{n:02d}" for n in range(60)]
_MEMO_LIMIT = 1 << 14
"""Entries a memo below keeps before it starts afresh: about 5 MB for both when full,
many times the times of the episodes open at once in a large force."""
_ISO_MEMO: dict[int, str] = {}
"""An episode's times come back in each of its summaries (about three each)."""
_LOCAL_DATE_MEMO: dict[tuple[int, str], date] = {}
"""T0's local date: read for the age at T0 and the nights, in every summary."""


def iso(us: int) -> str:
    """RFC 3339 in UTC with a 'Z', the form every output uses: datetime.isoformat's
    text (microseconds only when there are some), by integer arithmetic, because
    summaries and alerts format hundreds of thousands of these (tested equal)."""
    text = _ISO_MEMO.get(us)
    if text is None:
        if len(_ISO_MEMO) >= _MEMO_LIMIT:
            _ISO_MEMO.clear()
        text = _ISO_MEMO[us] = _format_iso(us)
    return text


def _format_iso(us: int) -> str:
    day, rest = divmod(us, _DAY_US)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = _DAY_PREFIX[day] = date.fromordinal(_EPOCH_ORDINAL + day).isoformat() + "T"
    seconds, fraction = divmod(rest, 1_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = prefix + _TWO_DIGITS[hours] + ":" + _TWO_DIGITS[minutes] + ":" + _TWO_DIGITS[seconds]
    if fraction:
        return text + "." + str(1_000_000 + fraction)[1:] + "Z"
    return text + "Z"


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_date(us: int, zone_name: str) -> date:
    key = (us, zone_name)
    day = _LOCAL_DATE_MEMO.get(key)
    if day is None:
        if len(_LOCAL_DATE_MEMO) >= _MEMO_LIMIT:
            _LOCAL_DATE_MEMO.clear()
        day = _LOCAL_DATE_MEMO[key] = from_us(us).astimezone(zone(zone_name)).date()
    return day


@lru_cache(maxsize=65_536)
def local_instant(day: date, at: time, zone_name: str) -> int:
    """The UTC instant of a local wall time; DST gaps resolve forwards (fold=0)."""
    naive = datetime.combine(day, at)
    local = naive.replace(tzinfo=zone(zone_name))
    # Round-trip through UTC so a non-existent time (spring gap) maps to a real one.
    return to_us(local.astimezone(UTC))


def local_hhmm(us: int, zone_name: str) -> str:
    """'05:58': the local wall time a sergeant reads on the custody record."""
    return from_us(us).astimezone(zone(zone_name)).strftime("%H:%M")


def format_span(us: int) -> str:
    """'6h 00m' style, as a custody sergeant reads a detention clock."""
    minutes = max(us, 0) // 60_000_000
    return f"{minutes // 60}h {minutes % 60:02d}m"
