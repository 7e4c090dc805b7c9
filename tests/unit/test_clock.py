"""Time in the core: exact microseconds in, RFC 3339 'Z' text out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custodywatch.core import clock
from custodywatch.core.clock import from_us, iso, local_date, to_us, zone

moments = st.datetimes(
    min_value=datetime(1950, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)


@given(moments, offsets)
def test_to_us_is_exact_whatever_the_offset(moment: datetime, offset: timezone) -> None:
    expected = (moment.replace(tzinfo=None) - datetime(1970, 1, 1)) // timedelta(microseconds=1)
    assert to_us(moment.astimezone(offset)) == expected


@given(moments)
def test_iso_round_trips_through_fromisoformat(moment: datetime) -> None:
    text = iso(to_us(moment))
    assert text.endswith("Z")
    assert "+" not in text
    assert datetime.fromisoformat(text) == moment


@given(moments)
def test_iso_is_datetimes_own_text(moment: datetime) -> None:
    # iso formats by integer arithmetic (it is called for every time in every summary).
    assert iso(to_us(moment)) == moment.replace(tzinfo=None).isoformat() + "Z"


@pytest.mark.parametrize(
    ("us", "text"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (1, "1970-01-01T00:00:00.000001Z"),
        (-5, "1969-12-31T23:59:59.999995Z"),
        (1_775_001_600_500_000, "2026-04-01T00:00:00.500000Z"),
    ],
)
def test_iso_text(us: int, text: str) -> None:
    assert iso(us) == text


def test_a_time_without_an_offset_is_refused_not_guessed() -> None:
    with pytest.raises(TypeError):
        to_us(datetime(2026, 4, 1, 12, 0))


def test_iso_and_local_date_memos_stay_bounded_and_right() -> None:
    # Both memoise (an episode's times recur in each of its summaries): past the limit
    # they start afresh, and what they answer is still the computed value.
    start = 1_775_001_600_000_000
    count = clock._MEMO_LIMIT + 10
    for n in range(count):
        us = start + n * 61_000_001
        assert iso(us) == iso_uncached(us)
        assert (
            local_date(us, "Europe/London") == from_us(us).astimezone(zone("Europe/London")).date()
        )
    assert 0 < len(clock._ISO_MEMO) <= clock._MEMO_LIMIT
    assert 0 < len(clock._LOCAL_DATE_MEMO) <= clock._MEMO_LIMIT


def iso_uncached(us: int) -> str:
    return from_us(us).replace(tzinfo=None).isoformat() + "Z"
