"""Deliberate producer bugs: extra bad lines that a consumer must reject, not choke on."""

from __future__ import annotations

from enum import IntEnum
from random import Random

from custodywatch.sim import render as r


class Mistake(IntEnum):
    """What an emitted line is: a valid event, or one of the deliberate producer bugs."""

    NONE = 0
    MALFORMED_JSON = 1
    UNKNOWN_FIELD = 2
    TIMESTAMP_WITHOUT_OFFSET = 3
    ORPHAN = 4  # valid JSON for a custody_record_id never opened


class MistakeMaker:
    """Derives a bad line from a valid event; the bad line gets a fresh event id.

    The valid event is still emitted: a mistake is an *extra* line, so every
    episode stays complete and the output tests what the consumer does with junk.
    """

    def __init__(self, rng: Random, record_prefix: str) -> None:
        self.rng = rng
        self.record_prefix = record_prefix

    def make(
        self, n: int, tail: str, suite: str, record_id: str, ts: str
    ) -> tuple[str, str, Mistake]:
        """(bad line, Kafka key, kind): the `n`-th mistake, derived from the event `tail`."""
        rnd = self.rng.random
        kind = Mistake(1 + int(rnd() * 4))
        if kind is Mistake.ORPHAN:
            record_id = f"{self.record_prefix}X{n}"
            if tail.startswith(_AUTHORISED):
                tail = r.REVIEWED_BY_INSPECTOR[1]
        elif kind is Mistake.TIMESTAMP_WITHOUT_OFFSET:
            ts = ts[:-6]
        # A fresh event id ('<record>/bad<n>'), so that no two bad lines are equal.
        name = f"bad{n}"
        tail = name + tail[tail.index(_TYPE_KEY) :]
        head = r.head(record_id, suite)
        line = r.line(ts, head, tail)
        if kind is Mistake.MALFORMED_JSON:
            keep = len(r.LINE_START) + len(ts) + len(head) + len(name) + 1  # after the id
            line = line[: keep + int(rnd() * (len(line) - keep - 2))] + "\n"
        elif kind is Mistake.UNKNOWN_FIELD:
            extra = '"priority":"high",' if rnd() < 0.5 else '"cell":"C4",'
            line = line.replace('"source":', extra + '"source":', 1)
        return line, record_id, kind


_AUTHORISED = "a" + r.type_open("detention_authorised")
_TYPE_KEY = '","event_type":'
