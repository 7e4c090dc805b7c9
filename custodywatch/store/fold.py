"""The exactly-once fold of `custody.alerts.v1` and `custody.episodes.v1` into SQL.

No Kafka consumer group and no Kafka offsets: the fold assigns every
partition of both topics to itself, seeks to the offsets kept in the
`consumer_offsets` table, and folds each fetched batch in ONE database
transaction holding the row changes, whatever the hooks add, AND the new
offsets. A SIGKILL at any moment leaves either the whole batch and its
offsets, or neither; the next start resumes from the stored offsets. So no
alert or log entry is lost or written twice (docs/store.md).

Records are read `read_committed`, so the worker's aborted transactions never
reach the store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord, TopicPartition
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from custodywatch.config import Settings
from custodywatch.localkafka.topics import COMPACTED, create_missing
from custodywatch.store.apply import (
    BatchResult,
    FoldHooks,
    NoHooks,
    OffsetsMovedError,
    TopicPartitionKey,
    advance_offsets,
    fold_batch,
    load_offsets,
)
from custodywatch.store.cli import DEFAULT_BATCH
from custodywatch.store.db import guarded, sessions, transaction

log = logging.getLogger("custodywatch.store.fold")

KAFKA_RETRY_S = 1.0
TOPIC_READY_S = 30.0


class FoldError(Exception):
    """The fold cannot start (e.g. its topics have no partitions): one line for a person."""


@dataclass
class FoldStats:
    batches: int = 0
    alert_records: int = 0
    duplicates: int = 0
    episodes: int = 0
    undecodable: int = 0

    def add(self, result: BatchResult) -> None:
        self.batches += 1
        self.alert_records += result.alert_records
        self.duplicates += result.duplicates
        self.episodes += result.episodes
        self.undecodable += result.undecodable


class Fold:
    """Consume the alerts and episodes topics into the store until `stop` is set.

    `group` names this fold's offsets in the store (default: `<group_id>.store`).
    Database failures raise `StoreUnavailableError` (one line); Kafka errors
    while fetching are logged and retried, so a broker restart is survived.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        hooks: FoldHooks | None = None,
        group: str | None = None,
        batch: int = DEFAULT_BATCH,
        written: asyncio.Event | None = None,
    ) -> None:
        """`written`: set after each commit that folded alert records (whatever the
        hooks wrote with them, e.g. outbox rows, is committed by then)."""
        self.settings = settings
        self.written = written
        self.engine = engine
        self.hooks: FoldHooks = hooks or NoHooks()
        self.group = group or f"{settings.group_id}.store"
        self.batch = batch
        self.topics = (settings.topics.alerts, settings.topics.episodes)
        self.stats = FoldStats()
        self._sessions = sessions(engine)
        self._committed: dict[TopicPartitionKey, int | None] = {}

    async def run(self, stop: asyncio.Event) -> None:
        partitions = await ensure_fold_topics(self.settings)
        consumer = AIOKafkaConsumer(
            **self.settings.kafka.client_kwargs(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        await consumer.start()
        try:
            consumer.assign([TopicPartition(t, p) for t, n in partitions.items() for p in range(n)])
            await self._seek_to_stored(consumer)
            log.info("fold started: group %s, %d partitions", self.group, len(self._committed))
            while not stop.is_set():
                try:
                    batches = await consumer.getmany(timeout_ms=200, max_records=self.batch)
                except KafkaError as exc:
                    log.warning("fetch failed (%s); retrying", type(exc).__name__)
                    await asyncio.sleep(KAFKA_RETRY_S)
                    continue
                if batches:
                    await self._fold(consumer, batches)
        finally:
            await consumer.stop()

    async def _seek_to_stored(self, consumer: AIOKafkaConsumer) -> None:
        stored = await asyncio.to_thread(self._load_offsets)
        self._committed = {}
        for tp in consumer.assignment():
            offset = stored.get((tp.topic, tp.partition))
            self._committed[(tp.topic, tp.partition)] = offset
            if offset is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, offset)

    def _load_offsets(self) -> dict[TopicPartitionKey, int]:
        def load() -> dict[TopicPartitionKey, int]:
            with transaction(self._sessions) as session:
                return load_offsets(session, self.group, self.topics)

        return guarded(self.engine, load)

    async def _fold(
        self, consumer: AIOKafkaConsumer, batches: Mapping[TopicPartition, list[ConsumerRecord]]
    ) -> None:
        new = {(tp.topic, tp.partition): rs[-1].offset + 1 for tp, rs in batches.items() if rs}
        alert_values = _values(batches, self.settings.topics.alerts)
        episode_values = _values(batches, self.settings.topics.episodes)

        def commit() -> BatchResult:
            with transaction(self._sessions) as session:
                return self._apply(session, new, alert_values, episode_values)

        try:
            result = await asyncio.to_thread(guarded, self.engine, commit)
        except OffsetsMovedError as exc:
            log.warning("offsets of %s moved under this fold (another instance?); re-seeking", exc)
            await self._seek_to_stored(consumer)
            return
        self._committed.update(new)
        self.stats.add(result)
        if self.written is not None and result.alert_records:
            self.written.set()

    def _apply(
        self,
        session: Session,
        new: Mapping[TopicPartitionKey, int],
        alert_values: list[tuple[str, bytes | None]],
        episode_values: list[tuple[str, bytes | None]],
    ) -> BatchResult:
        advance_offsets(session, self.group, self._committed, new)  # first: takes the locks
        return fold_batch(session, alert_values, episode_values, self.hooks)


def _values(
    batches: Mapping[TopicPartition, list[ConsumerRecord]], topic: str
) -> list[tuple[str, bytes | None]]:
    return [
        (f"{tp.topic}/{tp.partition}@{r.offset}", r.value)
        for tp, records in sorted(batches.items(), key=lambda item: item[0].partition)
        if tp.topic == topic
        for r in records
    ]


async def ensure_fold_topics(settings: Settings) -> dict[str, int]:
    """Create the alerts and episodes topics if missing (episodes compacted);
    returns the number of partitions of each."""
    topics = settings.topics
    admin = AIOKafkaAdminClient(**settings.kafka.client_kwargs())
    await admin.start()
    try:
        await create_missing(
            admin, settings.partitions, ((topics.alerts, {}), (topics.episodes, COMPACTED))
        )
        deadline = time.monotonic() + TOPIC_READY_S
        while True:  # a topic just created may show no partitions for a moment
            described = await admin.describe_topics([topics.alerts, topics.episodes])
            counts = {t["topic"]: len(t["partitions"]) for t in described if not t["error_code"]}
            if all(counts.get(name) for name in (topics.alerts, topics.episodes)):
                return counts
            if time.monotonic() > deadline:
                raise FoldError(f"topics {topics.alerts} / {topics.episodes} have no partitions")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
