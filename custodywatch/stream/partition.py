"""One partition's work: its engine and producer, a batch through the engine, its writes.

`apply_events` runs a batch of event records through the partition's engine,
gathering alerts and dead letters in order (`Writes`); `flush` then sends all
that the transaction writes: alerts, dead letters, the changed episodes'
summaries, their states and the partition clock. The worker (`worker.py`)
holds the transaction around both.

Part of the Kafka adapter: it may import aiokafka, the contract and the core; it
reports through the observer port, never to prometheus_client directly.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from custodywatch.config import Topics
from custodywatch.contract.episodes import EPISODE_ADAPTER
from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.clock import to_us
from custodywatch.core.engine import Engine, Outcome
from custodywatch.core.engine_state import episode_state
from custodywatch.observer import Observer
from custodywatch.stream.changelog import CLOCK_KEY
from custodywatch.stream.ticks import Tick
from custodywatch.stream.upload_hold import UploadHold
from custodywatch.stream.writes import (
    Writes,
    dead_letter_headers,
    encode_state,
    send_alerts,
    send_to_partition,
)

log = logging.getLogger("custodywatch.worker")

_DUPLICATE = Outcome.DUPLICATE
_CLOCK_KEY = CLOCK_KEY.encode()


@dataclass
class PartitionTask:
    """One partition's engine and the producer whose transactions cover it."""

    partition: int
    engine: Engine
    producer: AIOKafkaProducer
    ticks: deque[Tick] = field(default_factory=deque)
    """Event time: ticks read but not yet applied (their events are still to come)."""
    clock_flushed: int = -1
    """The engine clock last written to the changelog."""
    episodes_partition: int | None = None
    """Where its episodes' summaries go (None: the producer's partitioner decides)."""
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held for a whole transaction: a revoke waits for the batch in flight."""
    hold: UploadHold = field(default_factory=lambda: UploadHold(0, 0))
    """Live: how far it may fire while a backdated upload arrives (upload_hold.py)."""


def apply_events(
    task: PartitionTask,
    records: list[ConsumerRecord],
    writes: Writes,
    observer: Observer,
    now: int | None,
) -> None:
    """Decode and apply each record in order. `now`: the wall clock in live mode
    (firing never passes it, nor a backdated upload's frontier, and an event from
    the future is refused)."""
    process = task.engine.process
    alerts, processed = writes.alerts, writes.processed
    hold = task.hold
    for record in records:
        event = decode(record.value or b"")
        if isinstance(event, Reject):
            dead_letter(record, event, writes, observer)
            continue
        if now is None:
            raised, outcome = process(event)
        else:
            raised, outcome = process(event, now, hold.fire_limit(now))
        if raised:
            alerts.extend(raised)
        if isinstance(outcome, Reject):
            dead_letter(record, outcome, writes, observer)
        elif outcome is _DUPLICATE:
            observer.duplicate_ignored()
        else:
            processed[event.event_type] += 1
            if now is not None:
                observe_upload(task, record, to_us(event.occurred_at), now)


def observe_upload(task: PartitionTask, record: ConsumerRecord, occurred: int, now: int) -> None:
    """Live: an accepted event sent long after it occurred holds the partition's firing."""
    hold = task.hold
    was_holding = hold.holding(now)
    hold.observe(occurred, record.timestamp * 1000)  # the record's timestamp: when sent
    if not was_holding and hold.holding(now):
        log.info(
            "backdated upload: firing held at where it has got to until it is quiet",
            extra={"partition": task.partition, "quiet_s": hold.quiet_us / 1e6},
        )


def dead_letter(record: ConsumerRecord, reject: Reject, writes: Writes, observer: Observer) -> None:
    writes.dead_letters.append((record, reject))
    observer.event_rejected(reject.reason.value)
    log.info(
        "dead letter",
        extra={
            "reason": reject.reason.value,
            "source_partition": record.partition,
            "source_offset": record.offset,
            "custody_record_id": (record.key or b"").decode("utf-8", "replace"),
        },
    )


async def flush(
    task: PartitionTask, writes: Writes, topics: Topics, observer: Observer, as_of: int
) -> None:
    """Everything the transaction writes: alerts, dead letters, changed episodes, clock.

    `as_of`: the clock up to which open episodes' nights are counted in their summaries.
    """
    for event_type, count in writes.processed.items():
        observer.event_processed(event_type, count)
    producer = task.producer
    await send_alerts(producer, topics.alerts, writes.alerts, observer)
    for record, reject in writes.dead_letters:
        await producer.send(
            topics.dead_letter,
            key=record.key,
            value=record.value,
            headers=dead_letter_headers(record, reject),
        )
    engine = task.engine
    summaries = [
        (s.custody_record_id.encode(), EPISODE_ADAPTER.dump_json(s))
        for s in engine.episode_summaries(engine.dirty, as_of)
    ]
    if task.episodes_partition is None:
        for key, value in summaries:
            await producer.send(topics.episodes, key=key, value=value)
    else:
        await send_to_partition(producer, topics.episodes, task.episodes_partition, summaries)
    # The changelog: the partition clock (too_old needs it after a restart), then
    # each changed episode once, however many of its events the batch held.
    states: list[tuple[bytes, bytes | None]] = []
    if engine.clock != task.clock_flushed:
        states.append((_CLOCK_KEY, encode_state({"clock": engine.clock})))
        task.clock_flushed = engine.clock
    states.extend((rid.encode(), encode_state(episode_state(engine, rid))) for rid in engine.dirty)
    await send_to_partition(producer, topics.state, task.partition, states)
    engine.dirty.clear()
