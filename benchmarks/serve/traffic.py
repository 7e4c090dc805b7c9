"""The serve benchmark's traffic: the alerts it raises, the webhook receiver that
times their notifications, and the raw-consume baseline (`bench_serve.py` runs them).

A benchmark, not part of the service: it may import anything the project has.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from custodywatch.config import Settings
from custodywatch.contract.alerts import ALERT_ADAPTER, AlertRecord
from custodywatch.localkafka import free_port
from custodywatch.sim.force import LOCAL_AUTHORITIES, SUITES

PARTITIONS = 4


def ladder(step_s: int) -> str:
    """The escalation policy: the sergeant at raise, the duty inspector `step_s` later."""
    return f"""version: 1
severities:
  warning:
    steps:
      - {{after: 0s, notify: [custody_sergeant]}}
      - {{after: {step_s}s, notify: [duty_inspector]}}
"""


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def record(tag: str, n: int) -> AlertRecord:
    now = iso(time.time())
    return AlertRecord(
        alert_id=f"CR{tag}{n}/detention_duration/approaching",
        rule="detention_duration",
        stage="approaching",
        instance=None,
        severity="warning",
        custody_record_id=f"CR{tag}{n}",
        suite_id=SUITES[n % len(SUITES)],
        person_ref=f"P{n}",
        home_local_authority=LOCAL_AUTHORITIES[n % len(LOCAL_AUTHORITIES)],
        due_at=now,
        raised_at=now,
        summary="Child in custody for 5 hours: the 6-hour guideline is 1 hour away",
        state="raised",
        state_at=now,
        evidence_event_id=None,
    )


class Receiver:
    """Arrival time of each alert's first notification, per kind."""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrived: dict[tuple[str, str], float] = {}

    async def handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        at = time.time()
        for line in body["alerts"]:
            self.arrived.setdefault((line["alert_id"], body["kind"]), at)
        return web.Response(status=204)


def routing_yaml(port: int) -> str:
    def hook(name: str) -> dict[str, object]:
        url = f"http://127.0.0.1:{port}/hooks/{name}"
        return {"channels": [{"type": "webhook", "url": url, "secret_env": "CW_BENCH_SECRET"}]}

    return json.dumps(
        {
            "version": 1,
            "force": {"superintendent": hook("supt"), "fallback": hook("fallback")},
            "suites": {s: {"custody_sergeant": hook(s), "duty_inspector": hook(s)} for s in SUITES},
            "local_authorities": {
                la: {"out_of_hours": hook(la), "safeguarding_partnership": hook(la)}
                for la in LOCAL_AUTHORITIES
            },
        }
    )


async def publish(settings: Settings, tag: str, count: int, rate: float) -> dict[str, float]:
    """`count` alerts, each raised now in its own transaction, paced at `rate` per second;
    alert_id -> when its commit returned."""
    producer = AIOKafkaProducer(
        **settings.kafka.client_kwargs(), transactional_id=f"bench-{uuid.uuid4().hex}"
    )
    await producer.start()
    committed: dict[str, float] = {}
    began = time.monotonic()
    try:
        for n in range(count):
            await asyncio.sleep(max(0.0, began + n / rate - time.monotonic()))
            r = record(tag, n)
            async with producer.transaction():
                await producer.send(
                    settings.topics.alerts,
                    key=r.alert_id.encode(),
                    value=ALERT_ADAPTER.dump_json(r),
                )
            committed[r.alert_id] = time.time()
    finally:
        await producer.stop()
    return committed


async def raw_tail(settings: Settings, seen: dict[str, float], stop: asyncio.Event) -> int:
    """A plain read_committed consumer on the same topic: when each record reached it
    (the baseline: what Kafka alone costs), and how many records it read."""
    consumer = AIOKafkaConsumer(
        **settings.kafka.client_kwargs(),
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    count = 0
    try:
        consumer.assign([TopicPartition(settings.topics.alerts, p) for p in range(PARTITIONS)])
        while not stop.is_set():
            for batch in (await consumer.getmany(timeout_ms=100)).values():
                at = time.time()
                for r in batch:
                    seen.setdefault(json.loads(r.value)["alert_id"], at)
                count += len(batch)
    finally:
        await consumer.stop()
    return count
