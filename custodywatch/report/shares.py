"""Which worker process replays which lines of an events file (`report --events --jobs N`).

Episodes are independent: an alert and a summary are facts of their episode alone
(`core.engine.Engine.advance`), so N processes that each replay every line of some
episodes, and nothing of the others, give between them what one replay gives. A line
goes to the share of its `custody_record_id` (`share_of`), read by a byte search
(`key_of`) without parsing it. The search is sure only where it cannot misread: no
backslash in the line (so every `"` delimits a string), the quoted key exactly once (so
it is the top-level key of any line the contract accepts: the contract forbids other
keys), and a value of printable ASCII (so the contract reads back those very bytes).
Every other line is "unsure": every worker validates it and keeps it if its record is
theirs, and worker 0 alone reports it when the contract rejects it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from zlib import crc32

from custodywatch.contract.events import CustodyEvent
from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.clock import to_us
from custodywatch.replay import Decoded, RejectedLine

_KEY = b'"custody_record_id"'
_VALUE = re.compile(rb'"custody_record_id"[ \t\r\n]*:[ \t\r\n]*"([\x20\x21\x23-\x5b\x5d-\x7e]+)"')


def key_of(raw: bytes) -> bytes | None:
    """The line's custody_record_id as the contract would read it, or None when unsure."""
    if b"\\" in raw or raw.count(_KEY) != 1:
        return None
    found = _VALUE.search(raw)
    return None if found is None else found.group(1)


def share_of(key: bytes, jobs: int) -> int:
    """The worker (0 to jobs - 1) that replays a record's episode: the same in every
    process (unlike `hash`, which is salted per interpreter)."""
    return crc32(key) % jobs


@dataclass(frozen=True, slots=True)
class Shares:
    owned: list[list[int]]
    """Per worker, the numbers (from 1, in file order) of the lines whose record is its own."""
    unsure: list[int]
    """Lines every worker validates (see the module)."""
    count: int
    """Non-blank lines, as replay counts them."""


def split(lines: Sequence[bytes], jobs: int) -> Shares:
    owned: list[list[int]] = [[] for _ in range(jobs)]
    unsure: list[int] = []
    count = 0
    for number, raw in enumerate(lines, start=1):
        if raw.isspace() or not raw:  # as replay.decode_lines: blank lines are no events
            continue
        count += 1
        key = key_of(raw)
        if key is None:
            unsure.append(number)
        else:
            owned[share_of(key, jobs)].append(number)
    return Shares(owned, unsure, count)


def decode_share(lines: list[bytes], shares: Shares, me: int, jobs: int) -> Decoded:
    """Worker `me`'s events, as `replay.decode_file` would give them had the file held
    only its episodes' lines; its rejects are those of its own lines, and worker 0's
    also those of the unsure lines (so that every reject is counted once)."""
    events: list[tuple[int, int, CustodyEvent]] = []
    rejects: list[RejectedLine] = []
    for number in shares.owned[me]:
        outcome = decode(lines[number - 1])
        if isinstance(outcome, Reject):
            rejects.append(RejectedLine(number, outcome, lines[number - 1].rstrip(b"\r\n")))
        elif share_of(outcome.custody_record_id.encode(), jobs) != me:
            raise ShareError(f"line {number}: its custody_record_id was misread")
        else:
            events.append((to_us(outcome.occurred_at), number, outcome))
    for number in shares.unsure:
        outcome = decode(lines[number - 1])
        if isinstance(outcome, Reject):
            if me == 0:
                rejects.append(RejectedLine(number, outcome, lines[number - 1].rstrip(b"\r\n")))
        elif share_of(outcome.custody_record_id.encode(), jobs) == me:
            events.append((to_us(outcome.occurred_at), number, outcome))
    events.sort()  # by (occurred_at, line number), as decode_file
    rejects.sort(key=lambda r: r.line)
    return Decoded(lines, events, tuple(rejects), shares.count)


class ShareError(Exception):
    """A line was routed to the wrong worker: `key_of` misread it (a bug; never silent)."""
