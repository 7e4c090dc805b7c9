"""The what-if's validation of the lines of the episodes that may be a child's only
(`replay_children`) gives what the full path gives (every line decoded, then the
children's episodes kept): on the simulator's month with its deliberately bad lines,
shuffled, with CRLF line ends, and on hand-made lines meant to mislead its pre-pass."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from builders import Episode
from hypothesis import given
from hypothesis import strategies as st

from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.clock import to_us
from custodywatch.replay import (
    children_only,
    decode_file,
)
from custodywatch.replay_children import decode_children, triage
from custodywatch.sim.config import SimConfig
from custodywatch.sim.generator import iter_lines

MONTH = [line.encode() for line in iter_lines(SimConfig(seed=3, months=1, detentions=1200))]


def _misleading() -> list[bytes]:
    """Lines a pre-pass could misread: late evidence both ways, duplicates, odd forms."""
    late_child = Episode("X1", dob="1990-01-01").at(
        "+1h", "age_established", date_of_birth="2010-05-05"
    )
    late_child.at("+9h", "released")
    late_adult = Episode("X2", dob="2010-05-05").at(
        "+1h", "age_established", date_of_birth="1990-01-01"
    )
    late_adult.at("+2h", "released")
    by_look = Episode("X3", appears_under_18=True).at("+7h", "released")
    not_by_look = Episode("X4", appears_under_18=False).at("+7h", "released")
    offset = Episode("X5", t0="2026-03-01T23:30:00+05:30", dob="2009-01-01")
    offset.at("+8h", "released")
    turning_18 = Episode("X6", t0="2026-03-02T00:30:00+00:00", dob="2008-03-02")
    turning_18.at("+8h", "released")  # 18 on T0's UTC date, 17 the day before
    lines = [
        ep_line for ep in (late_child, late_adult, by_look, not_by_look) for ep_line in ep.lines()
    ]
    lines += offset.lines() + turning_18.lines()
    repeated = Episode("X7", dob="2011-01-01").at("+8h", "released").lines()
    lines += [*repeated, repeated[0]]  # the same event twice: a duplicate for the engine
    adult = Episode("X8", dob="1980-01-01").at("+3h", "released")
    opening = adult.lines()[0]
    # A duplicate key: the last value counts, to orjson as to the contract (X9, a child).
    child = Episode("X17", dob="2011-01-01").lines()[0]
    lines.append(child[:-1] + b',"custody_record_id":"X9"}')
    lines.append(opening.replace(b'"theft"', b'"th\\u0065ft"').replace(b"X8", b"X10"))
    lines.append(opening.replace(b"X8", b"X11").replace(b'"occurred_at":"', b'"occurred_at" : "'))
    lines += adult.lines()
    lines.append(b"   \n")
    lines.append(b'{"not": "an event"}\n')
    lines.append(opening.replace(b'"1980-01-01"', b'"2012-13-01"').replace(b"X8", b"X12"))
    lines.append(opening.replace(b"+00:00", b"Z").replace(b"X8", b"X13"))
    lines.append(opening.replace(b"+00:00", b"+24:00").replace(b"X8", b"X14"))
    # The file's last lines are an adult's: the last one invalid, the end is the one before.
    last = Episode("X15", t0="2026-04-01T00:00:00+00:00", dob="1970-01-01").lines()[0]
    lines += [
        last,
        last.replace(b"X15", b"X16").replace(b'"theft"', b"7").replace(b"T00:", b"T05:"),
    ]
    return lines


MISLEADING = _misleading()


def shuffled(lines: list[bytes], seed: int) -> list[bytes]:
    mixed = list(lines)
    random.Random(seed).shuffle(mixed)
    return mixed


FILES = {
    "month": MONTH,
    "month shuffled": shuffled(MONTH, 1),
    "misleading": MISLEADING,
    "misleading shuffled": shuffled(MISLEADING + MONTH[:400], 2),
    "crlf": [line.rstrip(b"\n") + b"\r\n" for line in MISLEADING],
}


@pytest.mark.parametrize("name", list(FILES))
@pytest.mark.parametrize("juvenile_age", [18, 19])
def test_validating_the_childrens_lines_only_gives_the_childrens_events(
    name: str, juvenile_age: int
) -> None:
    lines = FILES[name]
    fast, fast_end = decode_children(lines, juvenile_age)
    full = decode_file(lines)
    children, end = children_only(full, juvenile_age)
    assert fast.events == children.events
    assert fast_end == end
    assert fast.count == children.count
    # The rejects of the lines it validated: every line of the children's records.
    assert set(fast.rejects) <= set(full.rejects)
    kept = {event.custody_record_id for _, _, event in children.events}
    of_kept = {n for n, line in enumerate(lines, 1) if record_of(line) in kept}
    assert {r for r in full.rejects if r.line in of_kept} <= set(fast.rejects)


def record_of(line: bytes) -> object:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message.get("custody_record_id") if isinstance(message, dict) else None


def test_the_misleading_lines_are_what_they_seem() -> None:
    """The hand-made cases do what their comments say (else the tests above prove less)."""
    decoded = [o for line in MISLEADING if not isinstance(o := decode(line), Reject)]
    records = {event.custody_record_id for event in decoded}
    assert {"X9", "X10", "X11", "X13", "X15"} <= records
    assert {"X12", "X14", "X16", "X17"}.isdisjoint(records)
    assert triage(MISLEADING[-1], 18) is not None  # read, yet invalid: the end is X15's
    children, end = children_only(decode_file(MISLEADING), 18)
    kept = {event.custody_record_id for _, _, event in children.events}
    # X6 is 18 at T0 but 17 the day before T0's UTC date: kept, as any zone could make it.
    assert kept == {"X1", "X2", "X3", "X5", "X6", "X7", "X9"}
    assert end == to_us(datetime(2026, 4, 1, tzinfo=UTC))


_TIMES = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(_TIMES, st.integers(-23 * 60 - 59, 23 * 60 + 59), st.sampled_from(["", ".5", ".123456"]))
def test_a_plain_time_reads_the_same_to_the_pre_pass_and_to_the_contract(
    moment: datetime, minutes: int, fraction: str
) -> None:
    """What `replay_children` relies on for the end of replay of the unvalidated lines."""
    local = moment.astimezone(timezone(timedelta(minutes=minutes)))
    sign, whole = ("-" if minutes < 0 else "+"), abs(minutes)
    text = local.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S") + fraction
    text += f"{sign}{whole // 60:02d}:{whole % 60:02d}" if minutes else "Z"
    line = Episode("Z1", t0=text, dob="1990-01-01").lines()[0]
    seen, event = triage(line, 18), decode(line)
    assert seen is not None and not isinstance(event, Reject)
    assert seen[2] == to_us(event.occurred_at)
