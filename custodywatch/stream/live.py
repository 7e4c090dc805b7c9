"""Live mode (wall clock): when a partition may fire, and how long a poll may wait.

The firing rule: a partition fires what the wall clock has reached only once it
has caught up (its position at the last stable offset), so a backlog read after
an outage can still cancel what fell due meanwhile. The poll wakes when the next
deadline falls due (within MIN_POLL_MS-POLL_MS) instead of up to POLL_MS after it.
While a partition receives a backdated upload it fires only up to where the
upload has got to, until the upload is quiet (`upload_hold.py`).

Part of the Kafka adapter: it reads the engines and the consumer, nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from custodywatch.core.engine import Engine
from custodywatch.stream.partition import PartitionTask

POLL_MS = 100
MIN_POLL_MS = 5
"""Live: a poll waits until the next deadline is due, within these bounds."""


def due(engine: Engine, limit: int) -> bool:
    """`limit` (the partition's `hold.fire_limit`) has reached a deadline or an ended
    episode's expiry."""
    next_due, expiry = engine.next_due(), engine.next_expiry()
    return (next_due is not None and next_due <= limit) or (expiry is not None and expiry <= limit)


def poll_ms(tasks: Iterable[PartitionTask], now: int) -> int:
    """Wake when the next deadline falls due, not up to POLL_MS after it."""
    wakes = [wake for task in tasks if (wake := _wake_at(task, now)) is not None]
    if not wakes:
        return POLL_MS
    wait_ms = -(-(min(wakes) - now) // 1000)  # rounded up
    return max(MIN_POLL_MS, min(POLL_MS, wait_ms))


def _wake_at(task: PartitionTask, now: int) -> int | None:
    """When the partition may next have something to fire."""
    next_due, hold = task.engine.next_due(), task.hold
    if next_due is None or not hold.holding(now) or next_due <= hold.fire_limit(now):
        return next_due
    return hold.ends_at()  # held: nothing more fires before the hold lifts


async def caught_up(consumer: AIOKafkaConsumer | None, tp: TopicPartition) -> bool:
    """True when events partition `tp` has been consumed up to what is committed to it."""
    if consumer is None or tp not in consumer.assignment():
        return False
    end = consumer.last_stable_offset(tp)  # read_committed cannot read past it
    if end is None or end < 0:
        end = consumer.highwater(tp)
    return end is not None and await consumer.position(tp) >= end
