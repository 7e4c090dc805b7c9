"""Live (wall-clock) mode: alert latency, then SIGKILL with an outage and a backlog.

1. Latency: juvenile episodes whose detention_duration/approaching deadline (T0 + 5 h)
   falls due at --rate per second; a `--clock-mode wall` worker raises them and a
   read_committed consumer (fetch_max_wait_ms=100) receives them: received - due_at.
2. Recovery: children detained about six hours earlier (ingested while the worker
   runs) are each released at 5 h 59 min, during the outage; the worker is SIGKILLed
   and stays down --down seconds (default 600) while the custody system keeps
   producing: those releases and new detentions, --backlog events in all, each sent
   at its occurred_at. A worker that fired the six-hour deadlines before applying
   the backlog would raise a false breach for every child released in the outage.
   After the restart: time until its committed offsets reach the end of the events
   topic, and the alerts it raised that `replay` of the same events does not
   (false) or that replay has and it never raised (missing), both must be 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from custodywatch.config import ClockMode, Settings
from custodywatch.core.clock import iso, to_us
from custodywatch.core.config import MINUTE_US, RuleConfig
from custodywatch.replay import replay_lines
from custodywatch.stream.changelog import ensure_topics
from custodywatch.stream.publisher import producer_for
from stream.common import WorkerProcess, now_us, say
from stream.kafka import Offsets, publish

Event = tuple[int, bytes, bytes]
"""(occurred_at us, key, value)"""


def event(rid: str, n: int, at: int, kind: str, payload: dict[str, Any]) -> Event:
    value = {
        "schema_version": 1,
        "event_id": f"{rid}-{n}",
        "event_type": kind,
        "custody_record_id": rid,
        "suite_id": "perry-barr",
        "occurred_at": iso(at),
        "payload": payload,
    }
    return at, rid.encode(), json.dumps(value).encode()


def child(rid: str, t0: int, step: int = 10 * MINUTE_US) -> list[Event]:
    """A child's detention authorised at t0, an appropriate adult requested and there early."""
    birth = date(datetime.now(UTC).year - 15, 1, 1).isoformat()
    authorised = {
        "detainee": {"person_ref": f"P-{rid}", "date_of_birth": birth, "appears_under_18": True},
        "arrested_at": iso(t0 - 30 * MINUTE_US),
        "arrived_at": iso(t0 - 10 * MINUTE_US),
        "arrest_basis": "new_offence",
        "offence_category": "theft",
        "home_local_authority": "birmingham",
    }
    return [
        event(rid, 0, t0, "detention_authorised", authorised),
        event(rid, 1, t0 + step, "appropriate_adult_requested", {}),
        event(rid, 2, t0 + 2 * step, "appropriate_adult_arrived", {}),
    ]


def live_episodes(
    tag: str, first_due: int, count: int, rate: float
) -> tuple[list[Event], dict[str, int]]:
    """Episodes whose detention_duration/approaching falls due at `rate`/s from `first_due`;
    the events in occurred_at order and {alert_id: due}."""
    approaching = RuleConfig().detention_duration.approaching
    events: list[Event] = []
    expected: dict[str, int] = {}
    for i in range(count):
        due = first_due + round(i * 1e6 / rate)
        rid = f"BENCH-{tag}-{i:05d}"
        expected[f"{rid}/detention_duration/approaching"] = due
        events.extend(child(rid, due - approaching))
    events.sort(key=lambda e: e[0])
    return events, expected


def outage_traffic(
    tag: str, start: int, down_s: float, backlog: int
) -> tuple[list[Event], list[Event]]:
    """(events before the outage, events during it): a fifth of the backlog are releases at
    5 h 59 min of children detained before it, the rest new detentions in the outage."""
    span = round(down_s * 1e6)
    released = backlog // 5
    before: list[Event] = []
    during: list[Event] = []
    for i in range(released):
        rid = f"OUT-{tag}-{i:06d}"
        at = start + span * i // released
        t0 = at - (6 * 60 - 1) * MINUTE_US
        before.extend(child(rid, t0))
        during.append(event(rid, 3, at, "released", {"disposal": "no_further_action"}))
    new = (backlog - released) // 3
    for i in range(new):
        rid = f"NEW-{tag}-{i:06d}"
        during.extend(child(rid, start + span * i // max(new, 1), step=0))
    before.sort(key=lambda e: e[0])
    during.sort(key=lambda e: e[0])
    return before, during


@dataclass
class Received:
    alert_id: str
    state: str
    due: int
    received: int


@dataclass
class AlertCollector:
    """Reads the alerts topic (read_committed) and stamps each record on arrival."""

    settings: Settings
    alerts: list[Received] = field(default_factory=list)

    async def run(self, ready: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            **self.settings.kafka.client_kwargs(),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            fetch_max_wait_ms=100,
        )
        await consumer.start()
        try:
            topic, partitions = self.settings.topics.alerts, self.settings.partitions
            tps = [TopicPartition(topic, p) for p in range(partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ready.set()
            while True:
                batches = await consumer.getmany(timeout_ms=100)
                arrived = now_us()
                for records in batches.values():
                    for record in records:
                        alert = json.loads(record.value)
                        due = to_us(datetime.fromisoformat(alert["due_at"]))
                        self.alerts.append(
                            Received(alert["alert_id"], alert["state"], due, arrived)
                        )
        finally:
            await consumer.stop()

    def raised(self) -> dict[str, Received]:
        first: dict[str, Received] = {}
        for alert in self.alerts:
            if alert.state == "raised":
                first.setdefault(alert.alert_id, alert)
        return first


@dataclass
class LiveResult:
    expected: int
    latency_s: list[float]
    """received - due_at of each alert due in the latency window."""
    down_s: float
    backlog: int
    claimed_s: float
    """Restart to every partition claimed."""
    caught_up_s: float
    """Restart to the committed offsets at the end of the events topic."""
    compared: int
    """Standing alerts replay raises, due by the end of the run."""
    false_alerts: list[str]
    retracted_false: int  # of those, retracted later (late evidence reached the worker)
    missing: list[str]
    duplicates: int
    after_s: list[float]
    """received - due_at of the alerts due after it caught up."""


async def sleep_until(wall_us: int) -> None:
    delay = (wall_us - now_us()) / 1e6
    if delay > 0:
        await asyncio.sleep(delay)


async def paced(settings: Settings, events: list[Event]) -> None:
    """Send each event at its occurred_at (the custody system goes on while we are down)."""
    producer = await producer_for(settings)
    try:
        for at, key, value in events:
            await sleep_until(at)
            await producer.send(settings.topics.events, key=key, value=value)
        await producer.flush()
    finally:
        await producer.stop()


def standing_ids(events: list[Event], until: int) -> set[str]:
    """The alert_ids replay raises and does not retract, due up to `until`."""
    ordered = sorted(events, key=lambda e: e[0])
    result = replay_lines([value for _, _, value in ordered], RuleConfig(), until=until)
    return {a.alert_id for a in result.alerts}


async def live(settings: Settings, args: argparse.Namespace, logs: Path) -> LiveResult:
    await ensure_topics(settings)
    collector = AlertCollector(settings)
    ready = asyncio.Event()
    collecting = asyncio.create_task(collector.run(ready))
    tag = settings.group_id[-8:]
    try:
        async with Offsets(settings) as offsets:
            first = WorkerProcess(settings, ClockMode.WALL, logs / "worker-wall-1.log")
            await first.wait_claimed()
            await ready.wait()
            margin_s = 3.0
            span_s = args.window + margin_s + args.down + args.after_restart + 60
            # Time to publish and ingest what comes before the window, at a slow 1,000/s,
            # then the quiet after which a backdated upload no longer holds firing (these
            # episodes are sent hours after their T0: to the worker, an upload).
            lead_s = 8.0 + 3 * (round(span_s * args.rate) + args.backlog // 5) / 1000
            lead_s += settings.upload_quiet_s
            first_due = now_us() + round(lead_s * 1e6)
            window_end = first_due + round(args.window * 1e6)
            outage_at = window_end + round(margin_s * 1e6)
            episodes, due = live_episodes(tag, first_due, round(span_s * args.rate), args.rate)
            before, during = outage_traffic(tag, outage_at, args.down, args.backlog)
            published = [*episodes, *before, *during]
            say(f"wall-clock worker up; {len(episodes) + len(before):,} events before the outage")
            await publish(settings, [*episodes, *before])
            ingested = round((await offsets.wait_caught_up(settings.topics.events, lead_s)) * 1e6)
            if ingested + round(settings.upload_quiet_s * 1e6) >= first_due:
                raise RuntimeError("the worker took longer than the lead time to ingest")
            say(f"measuring latency for {args.window:g} s ({args.rate:g} deadlines/s)")
            await sleep_until(outage_at)
            killed = first.kill()
            say(f"SIGKILLed; down {args.down:g} s while {len(during):,} events are produced")
            await paced(settings, during)
            await sleep_until(outage_at + round(args.down * 1e6))
            second = WorkerProcess(settings, ClockMode.WALL, logs / "worker-wall-2.log")
            claimed = await second.wait_claimed()
            caught_up = await offsets.wait_caught_up(settings.topics.events, 600, poll_s=0.02)
            say(f"caught up {caught_up - second.started:.2f} s after the restart")
            await asyncio.sleep(args.after_restart)
            cutoff = now_us() - 2_000_000  # alerts due after this may still be on their way
            await asyncio.sleep(2.0)
            second.stop()
    finally:
        collecting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await collecting
    raised = collector.raised()
    worker_ids = {aid for aid, a in raised.items() if a.due <= cutoff}
    replay_ids = standing_ids(published, cutoff)
    restarted_us = round(second.started * 1e6)
    retracted = {a.alert_id for a in collector.alerts if a.state == "retracted"}
    return LiveResult(
        expected=sum(1 for t in due.values() if t < window_end),
        latency_s=[
            (a.received - a.due) / 1e6
            for a in raised.values()
            if a.alert_id in due and ingested < a.due < window_end
        ],
        down_s=second.started - killed,
        backlog=len(during),
        claimed_s=claimed - second.started,
        caught_up_s=caught_up - second.started,
        compared=len(replay_ids),
        false_alerts=sorted(worker_ids - replay_ids),
        retracted_false=len((worker_ids - replay_ids) & retracted),
        missing=sorted(replay_ids - worker_ids),
        duplicates=sum(1 for a in collector.alerts if a.state == "raised") - len(raised),
        after_s=[
            (a.received - a.due) / 1e6
            for a in raised.values()
            if a.alert_id in due and a.due > round(caught_up * 1e6) > restarted_us
        ],
    )
