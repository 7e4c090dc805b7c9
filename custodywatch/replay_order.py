"""A file's lines decoded one at a time, in replay order, so that a whole file's decoded
events are never alive at once (`replay.replay_summaries`: `report --events`, `replay`).

Replay applies events by (occurred_at, line number). A cheap pre-pass reads each line's
`occurred_at` by a byte search, without validating it, and sorts the line numbers by it.
Each line is then validated fully just before it is handed out, and its validated time
must equal the pre-pass's; if one does not, `OutOfOrderError` is raised and the caller
replays the file the ordinary way. So the order is never a guess: it is the order of
the validated events, checked event by event. A line whose time the search cannot read
(no such text, two of them, not a time) is validated in the pre-pass.

Ten months (232,655 lines) hold 480 MB of decoded events; decoded one at a time, each
is freed as soon as the engine has applied it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from custodywatch.contract.events import CustodyEvent
from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.clock import to_us

_KEY = b'"occurred_at":"'
_KEY_LENGTH = len(_KEY)

Item = tuple[int, int, CustodyEvent | Reject]
"""(time, line number from 1, the line decoded)."""


class OutOfOrderError(Exception):
    """A line's validated time is not the one its order was made from."""


def _time(raw: bytes) -> int | None:
    """The line's `occurred_at` in microseconds as the text says, or None when unsure."""
    start = raw.find(_KEY)
    if start < 0 or raw.find(_KEY, start + 1) >= 0:
        return None
    start += _KEY_LENGTH
    try:
        moment = datetime.fromisoformat(raw[start : raw.index(b'"', start)].decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None
    return None if moment.tzinfo is None else to_us(moment)


def in_order(lines: Sequence[bytes]) -> Iterator[Item]:
    """Every non-blank line, decoded: first the rejects among the lines the pre-pass had
    to validate, then every other line by (time, line number), events by their validated
    `occurred_at`, which is also their time here. A reject's time is the pre-pass's.

    Raises OutOfOrderError (before handing out that event) when a line's validated time is
    not the pre-pass's; the items handed out so far are then not replay's order."""
    order: list[tuple[int, int]] = []
    early: dict[int, CustodyEvent] = {}
    for number, raw in enumerate(lines, start=1):
        if raw.isspace() or not raw:  # blank, as `replay.decode_lines` skips them
            continue
        at = _time(raw)
        if at is None:
            outcome = decode(raw)
            if isinstance(outcome, Reject):
                yield 0, number, outcome
                continue
            at = to_us(outcome.occurred_at)
            early[number] = outcome
        order.append((at, number))
    order.sort()
    for at, number in order:
        decoded = early.pop(number) if number in early else decode(lines[number - 1])
        if not isinstance(decoded, Reject) and to_us(decoded.occurred_at) != at:
            raise OutOfOrderError(f"line {number}")
        yield at, number, decoded
