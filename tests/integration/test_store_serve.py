"""`custodywatch serve` on a real broker: SIGKILLed mid-stream three times, on both engines,
it neither loses nor repeats an alert, a log entry or a hook's write."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from sqlalchemy import Engine, func, select
from storekit import (
    alert,
    alert_bytes,
    episode,
    episode_bytes,
    kafka_routing,
    migrated,
    session_of,
)
from workers import Serve

from custodywatch.config import Settings, Topics
from custodywatch.contract.alerts import AlertRecord, AlertState
from custodywatch.localkafka import KafkaConnection
from custodywatch.store.db import open_engine
from custodywatch.store.fold import ensure_fold_topics
from custodywatch.store.schema import alert_log, alerts, consumer_offsets, episodes

pytestmark = pytest.mark.kafka

HERE = Path(__file__).resolve().parent
ALERTS = 2400
EPISODES = 800


@pytest.fixture
def settings(kafka: KafkaConnection) -> Settings:
    run = uuid.uuid4().hex[:8]
    return Settings(
        kafka=kafka, topics=Topics.prefixed(f"s-{run}"), group_id=f"g-{run}", partitions=4
    )


def alert_stream(count: int = ALERTS) -> list[AlertRecord]:
    """Raises, resolutions, retractions, re-deliveries, and ends that arrive before their raise."""
    stream: list[AlertRecord] = []
    for n in range(count):
        ends: tuple[AlertState | None, ...] = ("resolved", "retracted", None)
        end = ends[n % 3]
        if n % 50 == 7 and end is not None:
            stream += [alert(n, end), alert(n)]  # out of order
        else:
            stream.append(alert(n))
            if end is not None:
                stream.append(alert(n, end, minutes=30))
        if n % 10 == 0:
            stream.append(alert(n))  # re-delivered
    return stream


def expected(stream: list[AlertRecord]) -> tuple[dict[str, str], Counter[tuple[str, str]]]:
    states: dict[str, str] = {}
    logged: set[tuple[str, str]] = set()
    for record in stream:
        logged.add((record.alert_id, record.state))
        current = states.get(record.alert_id)
        if current is None or (current == "raised" and record.state != "raised"):
            states[record.alert_id] = record.state
    return states, Counter(logged)


async def produce(settings: Settings, stream: list[AlertRecord]) -> int:
    """Send everything; first an aborted transaction the store must never see. Returns
    the sum of end offsets over both topics (where a caught-up fold's offsets are)."""
    aborted = AIOKafkaProducer(
        **settings.kafka.client_kwargs(), transactional_id=f"abort-{uuid.uuid4().hex}"
    )
    await aborted.start()
    try:
        await aborted.begin_transaction()
        for n in range(20):
            await aborted.send(
                settings.topics.alerts, key=b"x", value=alert_bytes(alert(90_000 + n))
            )
        await aborted.abort_transaction()
    finally:
        await aborted.stop()
    producer = AIOKafkaProducer(**settings.kafka.client_kwargs(), acks="all", linger_ms=5)
    await producer.start()
    try:
        for record in stream:
            key = record.alert_id.encode()
            await producer.send(settings.topics.alerts, key=key, value=alert_bytes(record))
        for version in (0, 30):
            for n in range(EPISODES):
                summary = episode(n, updated_minutes=version)
                key = summary.custody_record_id.encode()
                await producer.send(settings.topics.episodes, key=key, value=episode_bytes(summary))
        await producer.flush()
    finally:
        await producer.stop()
    probe = AIOKafkaConsumer(**settings.kafka.client_kwargs())
    await probe.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in (settings.topics.alerts, settings.topics.episodes)
            for p in range(settings.partitions)
        ]
        return sum((await probe.end_offsets(partitions)).values())
    finally:
        await probe.stop()


def env_for(settings: Settings, database_url: str, routing: str) -> dict[str, str]:
    return {
        **os.environ,
        **settings.to_env(),
        "CUSTODYWATCH_DATABASE_URL": database_url,
        "CUSTODYWATCH_ROUTING": routing,
        "CUSTODYWATCH_SERVE_METRICS_PORT": "0",
    }


def progress(engine: Engine, settings: Settings) -> int:
    with session_of(engine) as session:
        total = session.scalar(
            select(func.coalesce(func.sum(consumer_offsets.c.next_offset), 0)).where(
                consumer_offsets.c.group_id == f"{settings.group_id}.store"
            )
        )
    return int(total or 0)


async def wait_until(engine: Engine, settings: Settings, beyond: int, within_s: float = 120) -> int:
    deadline = time.monotonic() + within_s
    while (done := progress(engine, settings)) <= beyond:
        assert time.monotonic() < deadline, f"no progress beyond {beyond}"
        await asyncio.sleep(0.02)
    return done


async def test_sigkill_three_times_loses_and_repeats_nothing(
    settings: Settings, database_url: str, serves: list[Serve], tmp_path: Path
) -> None:
    engine = migrated(database_url)  # so the test can watch progress from the start
    watch = open_engine(database_url, read_only=True)  # polls without taking the write lock
    await ensure_fold_topics(settings)
    stream = alert_stream()
    end = await produce(settings, stream)
    command = [sys.executable, str(HERE / "serve_with_hook.py"), "40"]
    env = env_for(settings, database_url, kafka_routing(tmp_path / "routing.yaml"))

    done = 0
    for kill in range(3):
        serves.append(Serve(command, env, tmp_path / f"serve-{kill}.log"))
        done = await wait_until(watch, settings, beyond=done)
        serves[-1].kill()
        done = progress(watch, settings)
        assert done < end, f"kill {kill + 1} must land mid-stream"
    serves.append(Serve(command, env, tmp_path / "serve-final.log"))
    await wait_until(watch, settings, beyond=end - 1)
    assert serves[-1].terminate() == 0

    want_states, want_log = expected(stream)
    with session_of(engine) as session:
        states = {
            str(a): str(s) for a, s in session.execute(select(alerts.c.alert_id, alerts.c.state))
        }
        log = session.execute(select(alert_log.c.alert_id, alert_log.c.kind, alert_log.c.details))
        entries = [(a, k, d) for a, k, d in log]
        summaries = session.execute(select(episodes.c.custody_record_id, episodes.c.summary))
        latest = {str(r): s["updated_at"] for r, s in summaries}
    assert states == want_states  # nothing lost, nothing aborted, no end reopened
    assert Counter((a, k) for a, k, _ in entries if k != "notified") == want_log  # once each
    hook_writes = Counter((a, d["for"]) for a, k, d in entries if k == "notified")
    assert hook_writes == want_log  # every new record's hook ran exactly once: no redo
    assert len(latest) == EPISODES
    assert latest == {f"CR{n}": episode(n, updated_minutes=30).updated_at for n in range(EPISODES)}
