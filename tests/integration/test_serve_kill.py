"""`custodywatch serve` itself (fold, lifecycle, timers, delivery) SIGKILLed mid-stream
three times, on both engines: afterwards no alert, log entry, escalation step or
notification is lost or duplicated.

Notifications go to a Kafka topic (the Kafka channel of the routing file): at
least once, so a receiver de-duplicating on the idempotency key sees every key
of the store's outbox, no key the store does not hold, and each (alert, step,
recipient, kind) under one key only.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import Engine, func, select
from storekit import (
    T0,
    iso,
    kafka_routing,
    migrated,
    session_of,
)
from test_store_serve import alert_stream, expected, produce, progress, settings, wait_until
from workers import Serve, read_all

from custodywatch.config import Settings
from custodywatch.store.db import open_engine
from custodywatch.store.fold import ensure_fold_topics
from custodywatch.store.schema import alert_log, alerts, outbox

__all__ = ["settings"]  # the fixture: topics and group of this test alone

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="session")]

FOLDED = ("raised", "resolved", "retracted")
# Enough that three kills, 200 offsets apart, land mid-stream; each alert is folded,
# stepped and told to several recipients, so more only makes the test slower.
KILLED_ALERTS = 800
COMMAND = [
    *(sys.executable, "-m", "custodywatch.cli", "serve"),
    *("--clock-mode", "event", "--fold-batch", "40"),
]


async def create_topics(settings: Settings, *names: str) -> None:
    admin = AIOKafkaAdminClient(**settings.kafka.client_kwargs())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, settings.partitions, 1) for name in names])
    finally:
        await admin.close()


async def tick(settings: Settings, minutes: int) -> None:
    """Event time for serve's ladder: T0 + minutes, on the clock topic."""
    producer = AIOKafkaProducer(**settings.kafka.client_kwargs(), acks="all")
    await producer.start()
    try:
        now = iso(T0 + timedelta(minutes=minutes))
        await producer.send_and_wait(settings.topics.clock, json.dumps({"now": now}).encode())
    finally:
        await producer.stop()


def undelivered(engine: Engine) -> int:
    with session_of(engine) as session:
        return int(session.scalar(select(func.count()).where(outbox.c.delivered_at.is_(None))) or 0)


def escalated(engine: Engine) -> list[tuple[str, str]]:
    with session_of(engine) as session:
        rows = session.execute(
            select(alert_log.c.alert_id, alert_log.c.details).where(alert_log.c.kind == "escalated")
        )
        return [(str(a), str(d["step"])) for a, d in rows]


async def quiet(engine: Engine, must_escalate: set[str], within_s: float = 120) -> None:
    """Until those alerts have taken their first step and every outbox row is delivered."""
    deadline = time.monotonic() + within_s
    while not must_escalate <= {a for a, _ in escalated(engine)} or undelivered(engine):
        assert time.monotonic() < deadline, (len(escalated(engine)), undelivered(engine))
        await asyncio.sleep(0.5)


async def test_sigkill_of_serve_three_times_loses_and_repeats_no_step_or_notification(
    settings: Settings, database_url: str, serves: list[Serve], tmp_path: Path
) -> None:
    engine = migrated(database_url)
    watch = open_engine(database_url, read_only=True)  # polls without taking the write lock
    await ensure_fold_topics(settings)
    await create_topics(settings, settings.topics.notifications, settings.topics.clock)
    stream = alert_stream(KILLED_ALERTS)
    end = await produce(settings, stream)
    env = {
        **os.environ,
        **settings.to_env(),
        "CUSTODYWATCH_DATABASE_URL": database_url,
        "CUSTODYWATCH_ROUTING": kafka_routing(
            tmp_path / "routing.yaml", settings.topics.notifications
        ),
        "CUSTODYWATCH_SERVE_METRICS_PORT": "0",
    }
    done = 0
    for kill in range(3):
        serves.append(Serve(COMMAND, env, tmp_path / f"serve-{kill}.log"))
        done = await wait_until(watch, settings, beyond=done + 200)
        serves[-1].kill()
        done = progress(watch, settings)
        assert done < end, f"kill {kill + 1} must land mid-stream"
    serves.append(Serve(COMMAND, env, tmp_path / "serve-final.log"))
    await wait_until(watch, settings, beyond=end - 1)
    # Past every alert's first step: whatever clock the killed processes reached.
    await tick(settings, minutes=len({r.alert_id for r in stream}) + 60)
    want_states, want_log = expected(stream)
    never_ended = {a for a, s in want_states.items() if s == "raised"}
    await quiet(engine, never_ended)
    await asyncio.sleep(3)  # a step or a send taken twice would show by now
    assert serves[-1].terminate() == 0

    with session_of(engine) as session:
        states = dict(session.execute(select(alerts.c.alert_id, alerts.c.state)).all())
        log = [
            (a, k, dict(d), actor)
            for a, k, d, actor in session.execute(
                select(
                    alert_log.c.alert_id, alert_log.c.kind, alert_log.c.details, alert_log.c.actor
                )
            )
        ]
        keys = {str(k) for (k,) in session.execute(select(outbox.c.idempotency_key))}
    assert states == want_states
    assert Counter((a, k) for a, k, _, _ in log if k in FOLDED) == want_log
    steps = Counter((a, d["step"]) for a, k, d, _ in log if k == "escalated")
    assert max(steps.values()) == 1, steps.most_common(3)
    assert {a for a, _ in steps} >= never_ended  # no escalation lost
    assert undelivered(engine) == 0
    told = Counter((a, d["step"], actor, d["kind"]) for a, k, d, actor in log if k == "notified")
    assert max(told.values()) == 1, told.most_common(3)
    first: dict[str, str] = {}
    for record in stream:
        first.setdefault(record.alert_id, record.state)
    raised = {a for a, state in first.items() if state == "raised"}  # an end first: never told
    assert {a for a, step, _, kind in told if kind == "raised" and step == "0"} == raised

    received = [
        json.loads(r.value) for r in await read_all(settings, settings.topics.notifications)
    ]
    by_key: dict[str, dict[str, Any]] = {}
    for n in received:
        by_key.setdefault(n["idempotency_key"], n)
    assert set(by_key) == keys  # every key delivered; none the store does not hold
    seen = Counter(
        (a["alert_id"], n["step"], n["recipient"], n["kind"])
        for n in by_key.values()
        for a in n["alerts"]
    )
    assert max(seen.values()) == 1, seen.most_common(3)  # one key per notice
    print(f"{len(received)} messages for {len(by_key)} keys ({len(received) - len(by_key)} resent)")
