"""Generated lines read back: their time and Kafka key, tagged with what is wrong with them.

Pure, like the generator: `iter_tagged` tells deliberate mistakes apart;
`iter_records` gives (occurred_at in microseconds, Kafka key, Kafka value) for
a paced producer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from custodywatch.sim import render as r
from custodywatch.sim.config import SimConfig
from custodywatch.sim.generator import MistakeLog, batches
from custodywatch.sim.mistakes import Mistake
from custodywatch.sim.timefmt import DAY


def record_id_of(line: str) -> str:
    """The custody_record_id of a valid generated line (it sits at a fixed offset)."""
    return line[r.RECORD_ID_AT : line.index('"', r.RECORD_ID_AT)]


def seconds_of(line: str) -> int:
    """Epoch seconds of a generated line's occurred_at (the line's fixed-width start)."""
    at = len(r.LINE_START)
    day_text = line[at : at + 10]
    day = _DAY_NUMBERS.get(day_text)
    if day is None:
        day = _DAY_NUMBERS[day_text] = date.fromisoformat(day_text).toordinal() - _EPOCH_ORDINAL
    hours, minutes, seconds = (
        line[at + 11 : at + 13],
        line[at + 14 : at + 16],
        line[at + 17 : at + 19],
    )
    return day * DAY + int(hours) * 3600 + int(minutes) * 60 + int(seconds)


_DAY_NUMBERS: dict[str, int] = {}  # 'YYYY-MM-DD' -> days since the epoch (a cache)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def iter_tagged(config: SimConfig) -> Iterator[tuple[int, str, str, Mistake]]:
    """(occurred_at epoch seconds, Kafka key, line, Mistake): tells deliberate bugs apart."""
    log: MistakeLog = {}
    for batch in batches(config, log):
        for line in batch:
            bad = log.pop(line, None) if log else None
            if bad is None:
                yield seconds_of(line), record_id_of(line), line, Mistake.NONE
            else:
                yield seconds_of(line), bad[0], line, bad[1]


def iter_records(config: SimConfig) -> Iterator[tuple[int, bytes, bytes]]:
    """(occurred_at in microseconds, Kafka key, Kafka value), for a paced producer.

    The key is the custody_record_id (UTF-8), the value one JSON object without
    the newline. Deliberate mistakes are included, keyed by the record they were
    derived from (or their orphan record id).
    """
    for at, key, line, _ in iter_tagged(config):
        yield at * 1_000_000, key.encode(), line[:-1].encode()
