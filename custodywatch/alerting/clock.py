"""The lifecycle's clock: the wall clock live, or event time (backfill, demo).

In event time the ladder runs on the same clock as the rules: the latest tick
on the clock topic (`{"now": ts, ...}`), and never earlier than an alert record
folded. So the demo escalates at 1,800x and a backfill's steps are taken at the
event times they would have been.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import datetime

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from custodywatch.config import Settings
from custodywatch.localkafka.connection import start_or_close

log = logging.getLogger("custodywatch.serve.clock")


class WallClock:
    def now_us(self) -> int:
        return time.time_ns() // 1000

    def saw(self, at_us: int) -> None:
        """The wall clock needs no telling."""

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()


class EventClock:
    """The latest event time seen on the clock topic or in a folded record."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._now = 0

    def now_us(self) -> int:
        return self._now

    def saw(self, at_us: int) -> None:
        self._now = max(self._now, at_us)

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            self.settings.topics.clock,
            **self.settings.kafka.client_kwargs(),
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await start_or_close(consumer)
        try:
            while not stop.is_set():
                try:
                    batch = await consumer.getmany(timeout_ms=200)
                except KafkaError as exc:
                    log.warning("clock topic fetch failed", extra={"error": type(exc).__name__})
                    await asyncio.sleep(1)
                    continue
                for records in batch.values():
                    for record in records:
                        with contextlib.suppress(ValueError, KeyError, TypeError):
                            tick = datetime.fromisoformat(json.loads(record.value)["now"])
                            self.saw(int(tick.timestamp() * 1_000_000))
        finally:
            await consumer.stop()


Clock = WallClock | EventClock
