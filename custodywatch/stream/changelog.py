"""The worker's topics, and a partition's engine restored from its changelog.

The changelog (compacted, co-partitioned with the events) holds each episode's
durable state: open episodes, ended ones within the retention (then a
tombstone), and the partition's event-time clock under a reserved key.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from custodywatch.config import Settings
from custodywatch.core.config import RuleConfig
from custodywatch.core.engine import Engine
from custodywatch.core.engine_state import restore_episode
from custodywatch.localkafka.connection import start_or_close
from custodywatch.localkafka.topics import COMPACTED, create_missing
from custodywatch.stream.writes import decode_state

CLOCK_KEY = "~partition-clock~" * 5
"""Changelog key of the partition's event-time clock. 85 characters: never a
custody_record_id (at most 64), so it cannot collide with an episode."""


async def restore_engine(settings: Settings, rules: RuleConfig, partition: int) -> Engine:
    """Rebuild a partition's engine from the committed changelog (last value per key wins).

    The changelog holds open episodes, ended ones within the retention (then a
    tombstone), and the partition clock, so its size follows those, not all history.
    """
    consumer = AIOKafkaConsumer(
        **settings.kafka.client_kwargs(),
        enable_auto_commit=False,
        isolation_level="read_committed",
        # No group, so the first fetch starts at the beginning. With "latest" it starts
        # at the end and waits fetch_max_wait_ms (500 ms) for data before any seek.
        auto_offset_reset="earliest",
    )
    await start_or_close(consumer)
    latest: dict[str, bytes | None] = {}
    try:
        tp = TopicPartition(settings.topics.state, partition)
        consumer.assign([tp])
        begin = (await consumer.beginning_offsets([tp]))[tp]
        end = (await consumer.end_offsets([tp]))[tp]
        if end > begin:  # an empty changelog needs no fetch (that would wait fetch_max_wait_ms)
            while await consumer.position(tp) < end:
                batch = await consumer.getmany(tp, timeout_ms=500)
                for record in batch.get(tp, []):
                    latest[record.key.decode()] = record.value
    finally:
        await consumer.stop()
    engine = new_engine(settings, rules)
    clock = latest.pop(CLOCK_KEY, None)
    for rid, value in latest.items():
        restore_episode(engine, rid, None if value is None else decode_state(value))
    if clock is not None:
        engine.clock = int(decode_state(clock)["clock"])
    engine.dirty.clear()
    return engine


def new_engine(settings: Settings, rules: RuleConfig) -> Engine:
    """A partition's engine with nothing restored (its changelog is empty)."""
    return Engine(
        rules,
        closed_retention_us=settings.closed_retention_us,
        future_skew_us=settings.future_skew_us,
        keep_ended=True,  # each ended episode's final summary is published once
    )


async def empty_changelogs(
    consumer: AIOKafkaConsumer, topic: str, partitions: Iterable[int]
) -> set[int]:
    """Which of `partitions` have nothing in the changelog `topic`: one request for all,
    through a consumer that is already connected (no restore consumer to start for them)."""
    tps = [TopicPartition(topic, p) for p in partitions]
    if not tps:
        return set()
    begin = await consumer.beginning_offsets(tps)
    end = await consumer.end_offsets(tps)
    return {tp.partition for tp in tps if end[tp] <= begin[tp]}


async def ensure_topics(settings: Settings) -> None:
    """Create the topics if missing, co-partitioned; the state topic is compacted."""
    topics = settings.topics
    admin = AIOKafkaAdminClient(**settings.kafka.client_kwargs())
    await admin.start()
    try:
        await create_missing(
            admin,
            settings.partitions,
            (
                (topics.events, {}),
                (topics.clock, {}),
                (topics.alerts, {}),
                (topics.dead_letter, {}),
                (topics.episodes, COMPACTED),
                (topics.notifications, {}),
                # Compacted; hourly segments so the cleaner can drop forgotten episodes.
                (
                    topics.state,
                    {**COMPACTED, "segment.ms": "3600000", "min.cleanable.dirty.ratio": "0.1"},
                ),
            ),
        )
    finally:
        await admin.close()
