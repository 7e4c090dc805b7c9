"""Putting custody events and clock ticks onto Kafka (simulator, demo, tests)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from custodywatch.config import Settings
from custodywatch.core.clock import iso
from custodywatch.localkafka.connection import start_or_close


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
    await start_or_close(producer)
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


class Ticker:
    """Event-time clock ticks that cannot overtake the events they follow.

    Each tick to clock partition p names the end offset of events partition p
    when it was sent (`{"now": ts, "events_offset": n}`); the worker applies it
    only once it has consumed that far. Call `tick` after the events it should
    cover have been sent: it flushes the producer first.
    """

    def __init__(self, settings: Settings, producer: AIOKafkaProducer) -> None:
        self.settings, self.producer = settings, producer
        self._offsets = AIOKafkaConsumer(**settings.kafka.client_kwargs(), enable_auto_commit=False)

    async def __aenter__(self) -> Ticker:
        await start_or_close(self._offsets)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._offsets.stop()

    async def tick(self, now_us: int) -> None:
        topics = self.settings.topics
        await self.producer.flush()  # the events this tick covers are on the broker
        partitions = sorted(await self.producer.partitions_for(topics.clock))
        events = [TopicPartition(topics.events, p) for p in partitions]
        ends = await self._offsets.end_offsets(events)
        for p, tp in zip(partitions, events, strict=True):
            tick = json.dumps({"now": iso(now_us), "events_offset": ends[tp]}).encode()
            await self.producer.send(topics.clock, value=tick, partition=p)
        await self.producer.flush()


async def send_ticks(settings: Settings, now_us: int) -> None:
    """Event-time clock: tell every partition that time has reached `now_us`, once it
    has consumed the events already on the topic."""
    producer = await producer_for(settings)
    try:
        async with Ticker(settings, producer) as ticker:
            await ticker.tick(now_us)
    finally:
        await producer.stop()


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
        async with Ticker(settings, producer) as ticker:
            async for at, key, value in paced(records, speed, max_gap_s):
                await producer.send(settings.topics.events, key=key, value=value)
                sent, now_us = sent + 1, max(now_us, at)
                if time.monotonic() - last_tick >= 1.0:
                    last_tick = time.monotonic()
                    await ticker.tick(now_us)
                    if progress is not None:
                        progress(now_us, sent)
            if now_us:
                await ticker.tick(now_us)
    finally:
        await producer.stop()
    return sent
