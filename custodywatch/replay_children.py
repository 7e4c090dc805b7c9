"""What-if's events: only the lines of the episodes that may be a child's are validated.

`decode_children(lines, juvenile_age)` gives what `children_only(decode_file(lines),
juvenile_age)` gives (the same events in the same order, the same end of replay) while
validating about a tenth of the lines. A pre-pass reads each line with orjson, without
the contract's validation, for the fields that decide whether its episode may be a
child's (`custody_record_id`, `event_type`, `occurred_at`, the detainee's
`date_of_birth` and `appears_under_18`), by the same test as `replay.may_be_a_child`.
It is conservative: a line it is unsure of (not JSON to orjson, a backslash anywhere, one
of those keys twice, a field of an unexpected type, a time not in the plain RFC 3339
form) is validated in the pre-pass, and its record kept if it may be a child's. Then
every line of every kept record is validated, and `children_only` filters the result
by the validated events, so a line the pre-pass kept wrongly costs time, never a result.

The end of replay is the latest valid event of the whole file: the latest unvalidated
lines are validated, newest first, until one is valid (a time in the plain form reads
the same to `datetime.fromisoformat` as to the contract).

Rejects: only the lines validated are known, so `Decoded.rejects` holds theirs (every
line of the kept records); a bad line of an adult's episode is not noticed. A what-if
shows no rejects, and such a line never changes its result.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import orjson

from custodywatch.contract.events import CustodyEvent
from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.clock import from_us, to_us
from custodywatch.core.episode import age_on
from custodywatch.replay import Decoded, RejectedLine, children_only, may_be_a_child

_ONE_DAY = timedelta(days=1)
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
Triage = tuple[str, bool, int]
"""(custody_record_id, may be a child's, occurred_at in microseconds), read unvalidated."""


def _child(kind: str, payload: object, at: int, juvenile_age: int) -> bool:
    """`replay.may_be_a_child` on the unvalidated line; True where unsure."""
    if kind == "age_established":
        return True
    if kind != "detention_authorised":
        return False
    detainee = payload.get("detainee") if isinstance(payload, dict) else None
    if not isinstance(detainee, dict):
        return True
    born, under_18 = detainee.get("date_of_birth"), detainee.get("appears_under_18")
    if born is None:
        return under_18 is not None and under_18 is not False
    if not isinstance(born, str) or not _DATE.fullmatch(born):
        return True
    try:
        birthday = date.fromisoformat(born)
    except ValueError:
        return True
    return age_on(birthday, from_us(at).date() - _ONE_DAY) < juvenile_age


def triage(raw: bytes, juvenile_age: int) -> Triage | None:
    """What the pre-pass reads of one line, or None when it is unsure."""
    if b"\\" in raw:  # escapes: left to the contract's own reader
        return None
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(message, dict):
        return None
    rid, kind = message.get("custody_record_id"), message.get("event_type")
    occurred = message.get("occurred_at")
    if not (isinstance(rid, str) and isinstance(kind, str) and isinstance(occurred, str)):
        return None
    if not _TIME.fullmatch(occurred):
        return None
    try:
        at = to_us(datetime.fromisoformat(occurred))
    except ValueError:  # e.g. month 13, or an offset of 24 hours
        return None
    return rid, _child(kind, message.get("payload"), at, juvenile_age), at


def decode_children(lines: Sequence[bytes], juvenile_age: int) -> tuple[Decoded, int | None]:
    """As `children_only(decode_file(lines), juvenile_age)`, validating only the lines
    of the records that may be a child's; `rejects` are those lines' only."""
    raw = list(lines)
    read: dict[int, Triage] = {}
    validated: dict[int, CustodyEvent | Reject] = {}
    kept: set[str] = set()
    count = 0
    for number, line in enumerate(raw, start=1):
        if line.isspace() or not line:
            continue
        count += 1
        seen = triage(line, juvenile_age)
        if seen is None:
            outcome = validated[number] = decode(line)
            if not isinstance(outcome, Reject) and may_be_a_child(outcome, juvenile_age):
                kept.add(outcome.custody_record_id)
        else:
            read[number] = seen
            if seen[1]:
                kept.add(seen[0])
    for number, (rid, _, _) in read.items():
        if rid in kept:
            validated[number] = decode(raw[number - 1])
    events, rejects = [], []
    for number, outcome in sorted(validated.items()):
        if isinstance(outcome, Reject):
            rejects.append(RejectedLine(number, outcome, raw[number - 1].rstrip(b"\r\n")))
        else:
            events.append((to_us(outcome.occurred_at), number, outcome))
    events.sort()
    children, _ = children_only(Decoded(raw, events, tuple(rejects), count), juvenile_age)
    latest = events[-1][0] if events else None
    unread = [(at, number) for number, (_, _, at) in read.items() if number not in validated]
    return children, _end(raw, unread, latest)


def _end(raw: list[bytes], unread: list[tuple[int, int]], latest: int | None) -> int | None:
    """The latest valid event's time: `latest` (of the lines validated) or an unread
    line's, the latest unread lines validated until one is valid."""
    unread.sort(reverse=True)
    for at, number in unread:
        if latest is not None and at <= latest:
            break
        if not isinstance(decode(raw[number - 1]), Reject):
            return at
    return latest
