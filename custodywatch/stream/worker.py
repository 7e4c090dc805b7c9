"""The streaming worker: the pure engine behind a transactional Kafka loop.

Per assigned partition p of the events topic the worker keeps one `Engine`
and one transactional producer (transactional.id = group/events-topic/p).
Everything a batch causes is committed in ONE Kafka transaction: the alerts,
the dead letters, the summaries of the changed episodes (compacted
`custody.episodes.v1`, for the store and reports), the changed episode states
(compacted changelog topic, partition p) and the consumer offsets. So after SIGKILL, restart or rebalance
the state and the offsets agree, and an alert is either published and
recorded as fired, or neither: each alert exactly once under read_committed.

Deadlines fire inside the same loop, never from a timer task: a timer cannot
join the partition's transaction (the faust-streaming pitfall), and here it
does not need to. The firing rule: a partition fires a deadline due at T only
once every event already in that partition with occurred_at <= T is applied.

- Wall-clock mode (live): while a partition is behind its last stable offset
  (catching up after an outage) it fires only what its own applied events
  pass, raised at the wall-clock time; once caught up, every loop pass fires
  what the wall clock has reached. While a partition receives a backdated
  upload (events sent long after they occurred), it fires only up to where the
  upload has got to, until the upload has been quiet for a while
  (stream/upload_hold.py): the rest of the upload may still cancel them.
- Event-time mode: the clock follows accepted events and ticks on the
  co-partitioned clock topic. A tick names the events offset it covers
  (`{"now": ts, "events_offset": n}`: the events partition's end offset when
  the tick was sent), and is applied only once the partition has consumed up
  to that offset, so it can never overtake the events it follows.

Each partition has at most one batch in flight and no partition waits for
another: the loop fetches only for the partitions with none in flight, so while
one partition's transaction waits on the broker the next one's batch uses the
CPU. This module is the loop, the claims and the transactions; `partition.py`
what a batch does, `ticks.py` the event-time clock, `live.py` the wall-clock
firing rule. See docs/architecture.md for why this is not faust's exactly_once mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord, TopicPartition

from custodywatch.config import ClockMode, Settings
from custodywatch.core.config import RuleConfig
from custodywatch.localkafka.connection import start_or_close
from custodywatch.observer import Observer
from custodywatch.stream import live
from custodywatch.stream.changelog import (
    empty_changelogs,
    ensure_topics,
    new_engine,
    restore_engine,
)
from custodywatch.stream.gauges import report_gauges
from custodywatch.stream.partition import PartitionTask, apply_events, flush
from custodywatch.stream.ticks import apply_ticks, parse_tick, ticks_due
from custodywatch.stream.upload_hold import UploadHold
from custodywatch.stream.writes import Writes

log = logging.getLogger("custodywatch.worker")

STATE_REFRESH_S = 2.0
MAX_RECORDS = 6_000
"""Records per poll, all free partitions together: a partition's share is one transaction.
A transaction's round trips cost the same whatever its size, and an episode's several events
in one batch give one summary and one state: 1.57x the rate of 2,000 (12,000: no better)."""
FIRST_RECORDS = 200
"""Records per poll until the first transaction commits: at start-up the first batches
of every partition share the one thread, so full batches would put the first commit about
half a second later."""

Batches = list[tuple[TopicPartition, list[ConsumerRecord]]]
"""One partition's records of one poll: its events first, then its clock ticks."""


def wall_clock_us() -> int:
    return time.time_ns() // 1000


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
        self.live = settings.clock_mode is ClockMode.WALL
        self.tasks: dict[int, PartitionTask] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._claiming = asyncio.Lock()
        self._last_state_refresh = 0.0
        self._max_records = FIRST_RECORDS
        self._applied_any = False

    # --- the loop --------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
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
        # Both connect to the broker: concurrently. The consumer subscribes once topics exist.
        created, started = await asyncio.gather(
            ensure_topics(self.settings), start_or_close(consumer), return_exceptions=True
        )
        if isinstance(started, BaseException):
            raise started
        if isinstance(created, BaseException):
            await consumer.stop()
            raise created
        consumer.subscribe([self.topics.events, self.topics.clock], listener=_Rebalance(self))
        # One batch in flight per partition, none waiting for another: while one partition's
        # transaction waits on the broker, the next partition's batch runs on the CPU.
        inflight: dict[int, asyncio.Task[None]] = {}
        try:
            while not stop.is_set():
                _reap(inflight)
                await self._poll(consumer, inflight)
                await self._refresh_state()
        finally:
            # Let the batches in flight commit (or fail) before the partitions are let go.
            last = await asyncio.gather(*inflight.values(), return_exceptions=True)
            await self._release(list(self.tasks))
            await consumer.stop()
        for outcome in last:  # stopped cleanly: a bug in a last batch is still raised
            if isinstance(outcome, BaseException):
                raise outcome

    async def _poll(
        self, consumer: AIOKafkaConsumer, inflight: dict[int, asyncio.Task[None]]
    ) -> None:
        """Fetch for the partitions with no batch in flight and start each one's next batch."""
        if inflight:
            free = [tp for tp in consumer.assignment() if tp.partition not in inflight]
            # Without waiting: a partition in flight may be done before new records come.
            batches = (
                await consumer.getmany(*free, timeout_ms=0, max_records=self._max_records)
                if free
                else {}
            )
        else:
            batches = await consumer.getmany(
                timeout_ms=self._poll_ms(), max_records=self._max_records
            )
        by_partition: dict[int, Batches] = {}
        # Events before ticks: a tick is checked against the events applied.
        for tp, records in sorted(batches.items(), key=self._events_first):
            by_partition.setdefault(tp.partition, []).append((tp, records))
        if self.live:
            now = self.now_us()
            for p, task in self.tasks.items():
                if (
                    p not in inflight
                    and p not in by_partition
                    and live.due(task.engine, task.hold.fire_limit(now))
                ):
                    by_partition[p] = []  # nothing new, but the wall clock reached a deadline
        for p, partition_batches in by_partition.items():
            inflight[p] = asyncio.create_task(self._process_partition(p, partition_batches))
        if inflight and not batches:
            await asyncio.wait(
                inflight.values(),
                timeout=self._poll_ms() / 1000,
                return_when=asyncio.FIRST_COMPLETED,
            )

    def _poll_ms(self) -> int:
        if not self.live:
            return live.POLL_MS
        return live.poll_ms(self.tasks.values(), self.now_us())

    def _events_first(self, item: tuple[TopicPartition, list[ConsumerRecord]]) -> tuple[bool, int]:
        tp = item[0]
        return tp.topic != self.topics.events, tp.partition

    # --- partitions claimed and let go ------------------------------------------

    async def _claim(self, partitions: Iterable[int]) -> None:
        async with self._claiming:
            new = [p for p in partitions if p not in self.tasks]
            consumer = self._consumer
            empty = set()
            if new and consumer is not None:  # a new group's changelogs: nothing to restore
                empty = await empty_changelogs(consumer, self.topics.state, new)
            # Concurrently: each claim is a producer start and a changelog read.
            await asyncio.gather(*(self._claim_one(p, restore=p not in empty) for p in new))

    async def _claim_one(self, p: int, restore: bool) -> None:
        producer = AIOKafkaProducer(
            **self.settings.kafka.client_kwargs(),
            transactional_id=f"{self.settings.group_id}/{self.topics.events}/{p}",
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_batch_size=262_144,  # a full 16 KB default batch blocks the send
        )
        await start_or_close(producer)  # init_transactions fences any zombie with this id
        # Summaries are keyed like the events, so they go to the events' partition when
        # the topics are co-partitioned: no pure-Python murmur2 per summary (~10 us).
        # The metadata of every topic it writes, now: else the first transaction waits for it.
        consumer = self._consumer
        events = None if consumer is None else consumer.partitions_for_topic(self.topics.events)
        episodes, _, _ = await asyncio.gather(
            *(
                producer.partitions_for(t)
                for t in (self.topics.episodes, self.topics.alerts, self.topics.state)
            )
        )
        episodes_partition = p if events is not None and len(episodes) == len(events) else None
        started = time.monotonic()
        if restore:
            engine = await restore_engine(self.settings, self.rules, p)
        else:
            engine = new_engine(self.settings, self.rules)
        restored_s = time.monotonic() - started
        self.observer.partition_restored(restored_s)
        hold = UploadHold(self.settings.upload_late_us, self.settings.upload_quiet_us)
        self.tasks[p] = PartitionTask(
            p, engine, producer, episodes_partition=episodes_partition, hold=hold
        )
        log.info(
            "partition claimed",
            extra={
                "partition": p,
                "open_episodes": len(engine.episodes),
                "ended_remembered": len(engine.closed),
                "restore_s": round(restored_s, 3),
            },
        )

    async def _release(self, partitions: Iterable[int]) -> None:
        async with self._claiming:
            for p in partitions:
                task = self.tasks.get(p)
                if task is None:
                    continue
                async with task.busy:  # wait for its batch in flight
                    if self.tasks.get(p) is task:  # not rewound meanwhile
                        del self.tasks[p]
                        await task.producer.stop()

    # --- one partition's batch, in one transaction -------------------------------

    async def _process_partition(self, partition: int, batches: Batches) -> None:
        for tp, records in batches:
            await self._process_batch(tp, records)
        task = self.tasks.get(partition)
        if task is not None and self.live:
            await self._fire_due(task, self.now_us())

    async def _process_batch(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        consumer = self._consumer
        if not records or consumer is None or tp not in consumer.assignment():
            return  # revoked meanwhile: the new owner resumes from the committed offset
        # aiokafka may hand out records while the rebalance listener is still
        # restoring this partition: claim it here rather than drop them.
        await self._claim([tp.partition])
        task = self.tasks[tp.partition]
        is_events = tp.topic == self.topics.events
        event_time = not self.live
        if not is_events and event_time:
            task.ticks.extend(parse_tick(record) for record in records)
            if not ticks_due(task.ticks, await self._events_position(task)):
                return  # they wait for their events; their offsets stay uncommitted

        async def work() -> None:
            offsets: dict[TopicPartition, int] = {}
            writes = Writes()
            if is_events:
                # The whole batch through the engine first, then its writes in one go.
                now = self.now_us() if self.live else None
                apply_events(task, records, writes, self.observer, now)
                offsets[tp] = records[-1].offset + 1
                if not self._applied_any:  # start-up is measured to here (docs/benchmarks.md)
                    self._applied_any = True
                    log.info("first events applied", extra={"partition": tp.partition})
            elif not event_time:
                offsets[tp] = records[-1].offset + 1  # live mode follows the wall clock
            if event_time:
                position = await self._events_position(task)
                if position is not None:
                    clock_next = apply_ticks(task.ticks, task.engine, position, writes.alerts)
                    if clock_next is not None:
                        offsets[TopicPartition(self.topics.clock, task.partition)] = clock_next
            await self._flush(task, writes)
            await task.producer.send_offsets_to_transaction(offsets, self.settings.group_id)

        await self._transaction(task, work)

    async def _events_position(self, task: PartitionTask) -> int | None:
        consumer = self._consumer
        tp = TopicPartition(self.topics.events, task.partition)
        if consumer is None or tp not in consumer.assignment():
            return None
        return int(await consumer.position(tp))

    async def _fire_due(self, task: PartitionTask, now: int) -> None:
        """Live mode: fire what the wall clock has reached, once the partition has caught up."""
        limit = task.hold.fire_limit(now)
        if not live.due(task.engine, limit):
            return
        events = TopicPartition(self.topics.events, task.partition)
        if not await live.caught_up(self._consumer, events):
            return  # its backlog may still cancel what is due

        async def work() -> None:
            await self._flush(task, Writes(task.engine.advance(limit, raised_at=now)))

        await self._transaction(task, work)

    async def _flush(self, task: PartitionTask, writes: Writes) -> None:
        as_of = self.now_us() if self.live else task.engine.clock
        await flush(task, writes, self.topics, self.observer, as_of)

    async def _transaction(self, task: PartitionTask, work: Callable[[], Awaitable[None]]) -> None:
        """Run work in the partition's transaction; if it fails, forget what it did.

        The engine has already applied the batch in memory, so on failure the
        partition's engine is dropped and the consumer rewound to the committed
        offset: the next poll restores state from the changelog and redoes it.
        """
        async with task.busy:
            if self.tasks.get(task.partition) is not task:
                return  # revoked while we waited
            try:
                async with task.producer.transaction():
                    await work()
                self._max_records = MAX_RECORDS
            except KafkaError as exc:
                log.warning(
                    "transaction failed; rewinding to the committed offset",
                    extra={"partition": task.partition, "error": type(exc).__name__},
                )
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

    async def _refresh_state(self) -> None:
        now = time.monotonic()
        if now - self._last_state_refresh < STATE_REFRESH_S:
            return
        self._last_state_refresh = now
        engines = [task.engine for task in self.tasks.values()]
        await report_gauges(engines, self._consumer, self.topics.events, self.observer)


def _reap(inflight: dict[int, asyncio.Task[None]]) -> None:
    """Forget the partitions' batches that are done; a bug in one stops the worker."""
    for p, batch in list(inflight.items()):
        if batch.done():
            del inflight[p]
            batch.result()


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
