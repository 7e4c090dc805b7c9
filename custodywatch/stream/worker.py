"""The streaming worker: the pure engine behind a transactional Kafka loop.

Per assigned partition p of the events topic the worker keeps one `Engine`
and one transactional producer (transactional.id = group/events-topic/p).
Everything a batch causes is committed in ONE Kafka transaction: the alerts,
the dead letters, the changed episode states (compacted changelog topic,
partition p) and the consumer offsets. So after SIGKILL, restart or rebalance
the state and the offsets agree, and an alert is either published and
recorded as fired, or neither: each alert exactly once under read_committed.

Deadlines fire inside the same loop, never from a timer task: a timer cannot
join the partition's transaction (the faust-streaming pitfall), and here it
does not need to. In wall-clock mode the loop fires what is due every pass;
in event-time mode ticks on the co-partitioned clock topic move the clock.

See docs/architecture.md for why this is not faust's exactly_once mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.structs import ConsumerRecord, TopicPartition

from custodywatch.config import ClockMode, Settings
from custodywatch.contract.alerts import ALERT_ADAPTER, AlertRecord
from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig
from custodywatch.core.engine import Engine, Outcome
from custodywatch.observer import Observer

log = logging.getLogger("custodywatch.worker")

STATE_REFRESH_S = 2.0


def wall_clock_us() -> int:
    return time.time_ns() // 1000


@dataclass
class PartitionTask:
    """One partition's engine and the producer whose transactions cover it."""

    partition: int
    engine: Engine
    producer: AIOKafkaProducer
    dirty_out: set[str] = field(default_factory=set)


class Worker:
    def __init__(
        self,
        settings: Settings,
        rules: RuleConfig,
        observer: Observer,
        now_us: Callable[[], int] = wall_clock_us,
    ) -> None:
        self.settings = settings
        self.rules = rules
        self.observer = observer
        self.now_us = now_us
        self.topics = settings.topics
        self.tasks: dict[int, PartitionTask] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._claiming = asyncio.Lock()
        # Held for a whole transaction: a revoke waits for the batch in flight.
        self._busy = asyncio.Lock()
        self._last_state_refresh = 0.0

    # --- lifecycle -------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        await ensure_topics(self.settings)
        consumer = AIOKafkaConsumer(
            **self.settings.kafka.client_kwargs(),
            group_id=self.settings.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            # Range keeps partition p of every topic on one member: events and clock co-partitioned.
            partition_assignment_strategy=(_range_assignor(),),
        )
        self._consumer = consumer
        await consumer.start()
        consumer.subscribe([self.topics.events, self.topics.clock], listener=_Rebalance(self))
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=100, max_records=2000)
                for tp, records in batches.items():
                    await self._process_batch(tp, records)
                if self.settings.clock_mode is ClockMode.WALL:
                    await self._fire_due(self.now_us())
                await self._refresh_state()
        finally:
            await self._release(list(self.tasks))
            await consumer.stop()

    async def _claim(self, partitions: Iterable[int]) -> None:
        async with self._claiming:
            for p in partitions:
                if p not in self.tasks:
                    await self._claim_one(p)

    async def _claim_one(self, p: int) -> None:
        producer = AIOKafkaProducer(
            **self.settings.kafka.client_kwargs(),
            transactional_id=f"{self.settings.group_id}/{self.topics.events}/{p}",
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_batch_size=262_144,  # a full 16 KB default batch blocks the send
        )
        await producer.start()  # init_transactions fences any zombie with this id
        engine = await restore_engine(self.settings, self.rules, p)
        self.tasks[p] = PartitionTask(p, engine, producer)
        log.info("partition %d claimed: %d open episodes", p, len(engine.episodes))

    async def _release(self, partitions: Iterable[int]) -> None:
        async with self._busy, self._claiming:
            for p in partitions:
                task = self.tasks.pop(p, None)
                if task is not None:
                    await task.producer.stop()

    # --- processing ----------------------------------------------------------------

    async def _process_batch(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        consumer = self._consumer
        if not records or consumer is None or tp not in consumer.assignment():
            return  # revoked meanwhile: the new owner resumes from the committed offset
        # aiokafka may hand out records while the rebalance listener is still
        # restoring this partition: claim it here rather than drop them.
        await self._claim([tp.partition])
        task = self.tasks[tp.partition]

        async def work() -> None:
            for record in records:
                if tp.topic == self.topics.events:
                    await self._on_event(task, record)
                else:
                    await self._on_tick(task, record)
            await self._flush_state(task)
            await task.producer.send_offsets_to_transaction(
                {tp: records[-1].offset + 1}, self.settings.group_id
            )

        await self._transaction(task, work)

    async def _transaction(self, task: PartitionTask, work: Callable[[], Awaitable[None]]) -> None:
        """Run work in the partition's transaction; if it fails, forget what it did.

        The engine has already applied the batch in memory, so on failure the
        partition's engine is dropped and the consumer rewound to the committed
        offset: the next poll restores state from the changelog and redoes it.
        """
        async with self._busy:
            if self.tasks.get(task.partition) is not task:
                return  # revoked while we waited
            try:
                async with task.producer.transaction():
                    await work()
            except KafkaError as exc:
                log.warning("partition %d: transaction failed (%r); rewinding", task.partition, exc)
                await self._rewind(task.partition)

    async def _rewind(self, partition: int) -> None:
        task = self.tasks.pop(partition, None)
        if task is not None:
            with contextlib.suppress(KafkaError):
                await task.producer.stop()
        consumer = self._consumer
        if consumer is None:
            return
        for tp in consumer.assignment():
            if tp.partition == partition:
                committed = await consumer.committed(tp)
                if committed is None:
                    await consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, committed)

    async def _on_event(self, task: PartitionTask, record: ConsumerRecord) -> None:
        raw: bytes = record.value or b""
        event = decode(raw)
        if isinstance(event, Reject):
            await self._dead_letter(task, record, event)
            return
        engine = task.engine
        if self.settings.clock_mode is ClockMode.WALL:
            # Never let an event's timestamp move the clock past the wall clock: a
            # producer with a wrong clock must not fire other children's deadlines early.
            now = self.now_us()
            at = to_us(event.occurred_at)
            alerts = engine.advance(min(at, now), inclusive=False, raised_at=now)
            outcome = engine.handle(event, at)
        else:
            alerts, outcome = engine.process(event)
        await self._publish(task, alerts)
        if isinstance(outcome, Reject):
            await self._dead_letter(task, record, outcome)
        elif outcome is Outcome.DUPLICATE:
            self.observer.duplicate_ignored()
        else:
            self.observer.event_processed(event.event_type)

    async def _on_tick(self, task: PartitionTask, record: ConsumerRecord) -> None:
        if self.settings.clock_mode is not ClockMode.EVENT:
            return  # live mode follows the wall clock; ticks are for event time
        try:
            now = to_us(datetime.fromisoformat(json.loads(record.value or b"")["now"]))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring malformed clock tick at offset %d: %s", record.offset, exc)
            return
        await self._publish(task, task.engine.advance(now, inclusive=True))

    async def _fire_due(self, now: int) -> None:
        for task in list(self.tasks.values()):
            due = task.engine.next_due()
            if due is None or due > now:
                continue

            async def work(task: PartitionTask = task) -> None:
                await self._publish(task, task.engine.advance(now, raised_at=now))
                await self._flush_state(task)

            await self._transaction(task, work)

    async def _publish(self, task: PartitionTask, alerts: list[AlertRecord]) -> None:
        for alert in alerts:
            await task.producer.send(
                self.topics.alerts,
                key=alert.alert_id.encode(),
                value=ALERT_ADAPTER.dump_json(alert),
            )
            latency = (to_us(datetime.fromisoformat(alert.raised_at)) - _due_us(alert)) / 1e6
            self.observer.alert_raised(alert.rule, alert.stage, alert.severity, latency)

    async def _dead_letter(
        self, task: PartitionTask, record: ConsumerRecord, reject: Reject
    ) -> None:
        headers = [
            ("reason", reject.reason.value.encode()),
            ("message", reject.message.encode()),
            ("source_topic", record.topic.encode()),
            ("source_partition", str(record.partition).encode()),
            ("source_offset", str(record.offset).encode()),
        ]
        await task.producer.send(
            self.topics.dead_letter, key=record.key, value=record.value, headers=headers
        )
        self.observer.event_rejected(reject.reason.value)

    async def _flush_state(self, task: PartitionTask) -> None:
        engine = task.engine
        for rid in engine.dirty:
            state = engine.episode_state(rid)
            value = None if state is None else json.dumps(state, separators=(",", ":")).encode()
            await task.producer.send(
                self.topics.state, key=rid.encode(), value=value, partition=task.partition
            )
        engine.dirty.clear()

    async def _refresh_state(self) -> None:
        now = time.monotonic()
        if now - self._last_state_refresh < STATE_REFRESH_S:
            return
        self._last_state_refresh = now
        suites: dict[str, int] = {}
        episodes = deadlines = 0
        for task in self.tasks.values():
            for suite, count in task.engine.juveniles_by_suite().items():
                suites[suite] = suites.get(suite, 0) + count
            episodes += len(task.engine.episodes)
            deadlines += task.engine.open_deadlines()
        self.observer.set_state(suites, episodes, deadlines)
        consumer = self._consumer
        if consumer is None:
            return
        lags: dict[int, int] = {}
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if tp.topic == self.topics.events and high is not None:
                lags[tp.partition] = max(high - await consumer.position(tp), 0)
        self.observer.set_consumer_lag(lags)


def _due_us(alert: AlertRecord) -> int:
    return to_us(datetime.fromisoformat(alert.due_at))


def _range_assignor() -> type:
    from aiokafka.coordinator.assignors.range import RangePartitionAssignor

    return RangePartitionAssignor  # type: ignore[no-any-return]


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self.worker._release({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self.worker._claim(sorted({tp.partition for tp in assigned}))


async def restore_engine(settings: Settings, rules: RuleConfig, partition: int) -> Engine:
    """Rebuild a partition's engine from the committed changelog (last value per key wins)."""
    consumer = AIOKafkaConsumer(
        **settings.kafka.client_kwargs(),
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        tp = TopicPartition(settings.topics.state, partition)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        latest: dict[str, bytes | None] = {}
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=500)
            for record in batch.get(tp, []):
                latest[record.key.decode()] = record.value
    finally:
        await consumer.stop()
    engine = Engine(rules)
    for rid, value in latest.items():
        engine.restore_episode(rid, None if value is None else json.loads(value))
    engine.dirty.clear()
    return engine


async def ensure_topics(settings: Settings) -> None:
    """Create the topics if missing, co-partitioned; the state topic is compacted."""
    topics = settings.topics
    admin = AIOKafkaAdminClient(**settings.kafka.client_kwargs())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name, settings.partitions, 1, topic_configs=configs)
            for name, configs in (
                (topics.events, {}),
                (topics.clock, {}),
                (topics.alerts, {}),
                (topics.dead_letter, {}),
                (topics.state, {"cleanup.policy": "compact"}),
            )
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker won the race
                await admin.create_topics(wanted)
    finally:
        await admin.close()
