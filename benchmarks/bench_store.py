"""The store's fold on a real broker: alert records folded per second, SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_store.py [--alerts 20000] [--repeat 3] [--batch 2000]

Starts ONE local Kafka broker (or uses CUSTODYWATCH_KAFKA_BOOTSTRAP) and a throwaway
PostgreSQL server (durable: fsync on, as in production; or the database named by
CUSTODYWATCH_BENCH_POSTGRES_URL), publishes --alerts raised records plus a resolution
for every other one to a fresh alerts topic (4 partitions), then, --repeat times each:

1. raw consume: a plain AIOKafkaConsumer (no group, read_committed) reads the topic to
   its end and `json.loads` each value: records/s;
2. the fold (`custodywatch.store.fold.Fold`, in this process) into an empty SQLite file,
   then into an empty PostgreSQL database: from `run()` until every record is folded
   (consumer start-up included), records/s.

Prints the median and the range (min-max) of each; progress on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from custodywatch.config import Settings, Topics
from custodywatch.contract.alerts import ALERT_ADAPTER, AlertRecord, AlertState
from custodywatch.localkafka import KafkaConnection, open_kafka
from custodywatch.store.db import migrate, open_engine
from custodywatch.store.fold import Fold, ensure_fold_topics
from custodywatch.store.pgserver import LocalPostgres
from custodywatch.stream.publisher import producer_for

PARTITIONS = 4
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def record(n: int, state: AlertState) -> AlertRecord:
    at = (T0 + timedelta(seconds=n)).isoformat().replace("+00:00", "Z")
    return AlertRecord(
        alert_id=f"CR{n}/detention_duration/approaching",
        rule="detention_duration",
        stage="approaching",
        instance=None,
        severity="warning",
        custody_record_id=f"CR{n}",
        suite_id=f"suite-{n % 8}",
        person_ref=f"P{n}",
        home_local_authority=f"la-{n % 7}",
        due_at=at,
        raised_at=at,
        summary="Child in custody for 5 hours: the 6-hour guideline is 1 hour away",
        state=state,
        state_at=at,
        evidence_event_id=None if state == "raised" else f"E{n}",
    )


async def publish(settings: Settings, alerts: int) -> int:
    records = [record(n, "raised") for n in range(alerts)]
    records += [record(n, "resolved") for n in range(0, alerts, 2)]
    producer = await producer_for(settings)
    try:
        for r in records:
            await producer.send(
                settings.topics.alerts, key=r.alert_id.encode(), value=ALERT_ADAPTER.dump_json(r)
            )
        await producer.flush()
    finally:
        await producer.stop()
    return len(records)


async def raw_consume(settings: Settings, expected: int) -> float:
    consumer = AIOKafkaConsumer(
        **settings.kafka.client_kwargs(),
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
    )
    began = time.perf_counter()
    await consumer.start()
    try:
        consumer.assign([TopicPartition(settings.topics.alerts, p) for p in range(PARTITIONS)])
        seen = 0
        while seen < expected:
            batches = await consumer.getmany(timeout_ms=200, max_records=2000)
            for records in batches.values():
                for r in records:
                    json.loads(r.value)
                seen += len(records)
    finally:
        await consumer.stop()
    return expected / (time.perf_counter() - began)


async def fold_rate(settings: Settings, url: str, expected: int, batch: int) -> float:
    engine = open_engine(url)
    migrate(engine)
    fold = Fold(settings, engine, group=f"bench-{uuid.uuid4().hex[:8]}", batch=batch)
    stop = asyncio.Event()
    began = time.perf_counter()
    task = asyncio.create_task(fold.run(stop))
    while fold.stats.alert_records < expected:
        if task.done():
            task.result()  # raises what stopped it
            raise RuntimeError("fold stopped early")
        await asyncio.sleep(0.005)
    seconds = time.perf_counter() - began
    stop.set()
    await task
    engine.dispose()
    return expected / seconds


@contextmanager
def postgres_database() -> Iterator[Callable[[], str]]:
    given = os.environ.get("CUSTODYWATCH_BENCH_POSTGRES_URL")
    if given:
        yield lambda: given  # the same database each run: the fold's group is new each time
        return
    with LocalPostgres(durable=True) as server:
        yield lambda: server.create_database(f"bench_{uuid.uuid4().hex[:8]}")


def summary(rates: list[float]) -> str:
    return (
        f"{statistics.median(rates):>10,.0f} records/s  "
        f"(range {min(rates):,.0f}-{max(rates):,.0f}, {len(rates)} runs)"
    )


async def timed(label: str, rates: list[float], run: Awaitable[float]) -> None:
    rate = await run
    rates.append(rate)
    say(f"  {label}: {rate:,.0f} records/s")


async def main(args: argparse.Namespace) -> int:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    with open_kafka() as kafka, postgres_database() as new_pg, tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(kafka)
        await ensure_fold_topics(settings)
        say("publishing...")
        expected = await publish(settings, args.alerts)
        raw: list[float] = []
        on_sqlite: list[float] = []
        on_postgres: list[float] = []
        for i in range(args.repeat):
            say(f"run {i + 1}/{args.repeat}")
            await timed("raw consume + json.loads", raw, raw_consume(settings, expected))
            sqlite_url = f"sqlite:///{Path(tmp) / f'bench-{i}.db'}"
            await timed(
                "fold into SQLite",
                on_sqlite,
                fold_rate(settings, sqlite_url, expected, args.batch),
            )
            pg_url = new_pg()
            await timed(
                "fold into PostgreSQL",
                on_postgres,
                fold_rate(settings, pg_url, expected, args.batch),
            )
    print(
        f"{expected:,} alert records ({args.alerts:,} alerts), {PARTITIONS} partitions, batch {args.batch}"
    )
    print(f"raw consume + json.loads   {summary(raw)}")
    print(f"fold into SQLite           {summary(on_sqlite)}")
    print(f"fold into PostgreSQL       {summary(on_postgres)}")
    return 0


def bench_settings(kafka: KafkaConnection) -> Settings:
    run = uuid.uuid4().hex[:8]
    return Settings(
        kafka=kafka,
        topics=Topics.prefixed(f"bench-{run}"),
        group_id=f"bench-{run}",
        partitions=PARTITIONS,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--alerts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2000)
    sys.exit(asyncio.run(main(parser.parse_args())))
