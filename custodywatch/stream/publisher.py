"""Putting custody events and clock ticks onto Kafka (simulator, demo, tests)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable

from aiokafka import AIOKafkaProducer

from custodywatch.config import Settings
from custodywatch.core.clock import iso


def record_key(line: bytes) -> bytes | None:
    """The partition key: custody_record_id, when the line is readable JSON with one."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    rid = value.get("custody_record_id") if isinstance(value, dict) else None
    return rid.encode() if isinstance(rid, str) else None


async def producer_for(settings: Settings) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(
        **settings.kafka.client_kwargs(), acks="all", linger_ms=10, max_batch_size=262_144
    )
    await producer.start()
    return producer


async def publish_lines(settings: Settings, lines: Iterable[bytes]) -> int:
    """Send JSONL lines as fast as the broker takes them; malformed lines are sent too."""
    producer = await producer_for(settings)
    sent = 0
    try:
        for raw in lines:
            line = raw.rstrip(b"\r\n")
            if line:
                await producer.send(settings.topics.events, key=record_key(line), value=line)
                sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent


class Pacer:
    """When to send each event: `speed` simulated seconds per real second.

    A quiet stretch longer than `max_gap_s` real seconds is cut to that (a
    fast-forward); the rest of the stream keeps its pace from there.
    """

    def __init__(self, speed: float, max_gap_s: float | None = None) -> None:
        self.speed, self.max_gap_s = speed, max_gap_s
        self._previous_us: int | None = None
        self._offset = 0.0

    def offset(self, at_us: int) -> float:
        """Real seconds after the first event at which the event at `at_us` is due."""
        previous = self._previous_us
        if previous is None or at_us > previous:
            if previous is not None:
                gap = (at_us - previous) / 1e6 / self.speed
                self._offset += gap if self.max_gap_s is None else min(gap, self.max_gap_s)
            self._previous_us = at_us
        return self._offset


async def paced(
    items: Iterable[tuple[int, bytes, bytes]], speed: float, max_gap_s: float | None = None
) -> AsyncIterator[tuple[int, bytes, bytes]]:
    """Yield (occurred_at_us, key, value) on the schedule of a `Pacer`."""
    pacer, started = Pacer(speed, max_gap_s), time.monotonic()
    for at, key, value in items:
        wait = started + pacer.offset(at) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        yield at, key, value


async def send_ticks(settings: Settings, now_us: int) -> None:
    """Event-time clock: tell every partition that time has reached `now_us`."""
    producer = await producer_for(settings)
    try:
        await _tick(producer, settings, now_us)
    finally:
        await producer.stop()


async def _tick(producer: AIOKafkaProducer, settings: Settings, now_us: int) -> None:
    partitions = await producer.partitions_for(settings.topics.clock)
    tick = json.dumps({"now": iso(now_us)}).encode()
    for p in sorted(partitions):
        await producer.send(settings.topics.clock, value=tick, partition=p)
    await producer.flush()


async def stream_paced(
    settings: Settings,
    records: Iterable[tuple[int, bytes, bytes]],
    speed: float,
    progress: Callable[[int, int], None] | None = None,
    max_gap_s: float | None = None,
) -> int:
    """Send (occurred_at_us, key, value) time-compressed by `speed`, for an event-time worker.

    Once a real second the event-time clock is ticked to the latest occurred_at
    sent, so deadlines fire in quiet partitions too; a last tick at the end.
    `progress(now_us, sent)` is called at each tick; `max_gap_s`: see `Pacer`.
    """
    producer = await producer_for(settings)
    sent, last_tick, now_us = 0, time.monotonic(), 0
    try:
        async for at, key, value in paced(records, speed, max_gap_s):
            await producer.send(settings.topics.events, key=key, value=value)
            sent, now_us = sent + 1, max(now_us, at)
            if time.monotonic() - last_tick >= 1.0:
                last_tick = time.monotonic()
                await producer.flush()  # events before the tick that covers them
                await _tick(producer, settings, now_us)
                if progress is not None:
                    progress(now_us, sent)
        await producer.flush()
        if now_us:
            await _tick(producer, settings, now_us)
    finally:
        await producer.stop()
    return sent
