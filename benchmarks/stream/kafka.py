"""Kafka helpers: publishing, offsets, reading a topic back, and the raw-consume baseline."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from custodywatch.config import Settings
from custodywatch.stream.publisher import producer_for


async def publish(settings: Settings, records: Sequence[tuple[int, bytes, bytes]]) -> float:
    """Send (at, key, value) to the events topic; seconds taken."""
    producer = await producer_for(settings)
    started = time.perf_counter()
    try:
        for _, key, value in records:
            await producer.send(settings.topics.events, key=key, value=value)
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - started


class Offsets:
    """End offsets of a topic and the group's committed offsets on it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.admin = AIOKafkaAdminClient(**settings.kafka.client_kwargs())
        self.probe = AIOKafkaConsumer(
            **settings.kafka.client_kwargs(), isolation_level="read_committed"
        )

    async def __aenter__(self) -> Offsets:
        await self.admin.start()
        await self.probe.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.probe.stop()
        await self.admin.close()

    def partitions(self, topic: str) -> list[TopicPartition]:
        return [TopicPartition(topic, p) for p in range(self.settings.partitions)]

    async def end(self, topic: str) -> dict[TopicPartition, int]:
        ends: dict[TopicPartition, int] = await self.probe.end_offsets(self.partitions(topic))
        return ends

    async def committed(self, topic: str) -> dict[TopicPartition, int]:
        try:
            offsets = await self.admin.list_consumer_group_offsets(self.settings.group_id)
        except KafkaError:  # the group or its coordinator is not there yet
            return {}
        return {tp: o.offset for tp, o in offsets.items() if tp.topic == topic and o.offset >= 0}

    async def wait_caught_up(self, topic: str, within_s: float, poll_s: float = 0.1) -> float:
        """Wait until the committed offsets reach the end of every partition; wall time."""
        ends = await self.end(topic)
        deadline = time.monotonic() + within_s
        while True:
            committed = await self.committed(topic)
            if all(committed.get(tp, 0) >= end for tp, end in ends.items()):
                return time.time()
            if time.monotonic() > deadline:
                behind = {tp.partition: end - committed.get(tp, 0) for tp, end in ends.items()}
                raise RuntimeError(f"worker did not catch up on {topic}: behind {behind}")
            await asyncio.sleep(poll_s)

    async def wait_first_commit(self, topic: str, within_s: float = 60.0) -> float:
        """Wall time at which the group first committed an offset past 0 (polled every 10 ms):
        its first batch processed and committed."""
        deadline = time.monotonic() + within_s
        while not any(offset > 0 for offset in (await self.committed(topic)).values()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no offset committed on {topic} within {within_s:g} s")
            await asyncio.sleep(0.01)
        return time.time()


async def read_topic(settings: Settings, topic: str) -> list[bytes]:
    """Every committed value of a topic, up to its last stable offset."""
    consumer = AIOKafkaConsumer(
        **settings.kafka.client_kwargs(),
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        tps = [TopicPartition(topic, p) for p in range(settings.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            values.extend(r.value for records in batches.values() for r in records)
    finally:
        await consumer.stop()
    return values


# --- 1. baseline ----------------------------------------------------------------------


async def baseline_rate(settings: Settings, expected: int) -> float:
    """Plain consumer (no group), read_committed like the worker, json.loads each value."""
    consumer = AIOKafkaConsumer(
        **settings.kafka.client_kwargs(),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        tps = [TopicPartition(settings.topics.events, p) for p in range(settings.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        total = sum((await consumer.end_offsets(tps)).values())
        assert total == expected, f"events topic holds {total}, expected {expected}"
        parsed = 0
        started = time.perf_counter()
        while parsed < total:
            batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
            for records in batches.values():
                for record in records:
                    with contextlib.suppress(ValueError):  # the simulator's deliberate junk
                        json.loads(record.value)
                    parsed += 1
        return parsed / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def _cpu_ticks(pid: int) -> int:
    """User + system clock ticks of a process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


class CpuMeter:
    """CPU seconds of one process (with its running children: `worker --processes N`) and
    busy share of the machine, from /proc (Linux)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.start = self.sample()

    def sample(self) -> tuple[float, float, float]:
        """(process CPU s, machine busy CPU s, machine total CPU s); NaN without /proc."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
            process = sum(_cpu_ticks(pid) for pid in (self.pid, *map(int, children))) / self.tick
            ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        except (OSError, ValueError, IndexError):
            return (math.nan, math.nan, math.nan)
        idle = ticks[3] + ticks[4]
        return (process, (sum(ticks) - idle) / self.tick, sum(ticks) / self.tick)

    def since_start(self, elapsed_s: float) -> tuple[float, float]:
        """(process CPU as a share of one core, machine busy share of all cores)."""
        end = self.sample()
        process = (end[0] - self.start[0]) / elapsed_s
        busy = (end[1] - self.start[1]) / max(end[2] - self.start[2], 1e-9)
        return process, busy
