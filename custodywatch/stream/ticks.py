"""Event-time clock ticks as the worker reads them from the clock topic.

A tick `{"now": ts, "events_offset": n}` to clock partition p moves p's clock to
`now` once events partition p has been consumed up to offset n (its end when
the tick was sent): so a tick can never overtake the events it follows.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from aiokafka.structs import ConsumerRecord

from custodywatch.contract.alerts import AlertRecord
from custodywatch.core.clock import to_us
from custodywatch.core.engine import Engine

log = logging.getLogger("custodywatch.worker")


@dataclass(frozen=True, slots=True)
class Tick:
    offset: int
    """Its offset on the clock topic."""
    now: int | None
    """The time it moves the clock to (None: a malformed tick, applied as a no-op)."""
    events_offset: int
    """It covers the events partition's records before this offset."""


def parse_tick(record: ConsumerRecord) -> Tick:
    try:
        value = json.loads(record.value or b"")
        return Tick(
            record.offset,
            to_us(datetime.fromisoformat(value["now"])),
            int(value["events_offset"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        log.warning(
            "ignoring malformed clock tick at partition %d offset %d (%s): a tick is "
            '{"now": TS, "events_offset": N}',
            record.partition,
            record.offset,
            exc,
        )
        return Tick(record.offset, None, 0)


def ticks_due(ticks: deque[Tick], position: int | None) -> bool:
    """Whether the first waiting tick's events are all consumed (`position`: the events
    partition's; None when it is no longer assigned)."""
    return bool(ticks) and position is not None and ticks[0].events_offset <= position


def apply_ticks(
    ticks: deque[Tick], engine: Engine, position: int, alerts: list[AlertRecord]
) -> int | None:
    """Apply, in order, the ticks whose events are all applied; the clock offset to commit."""
    clock_next = None
    while ticks and ticks[0].events_offset <= position:
        tick = ticks.popleft()
        if tick.now is not None:
            alerts.extend(engine.advance(tick.now, inclusive=True))
        clock_next = tick.offset + 1
    return clock_next
