"""`custodywatch demo`: the whole system on one machine, in a few minutes.

Starts a local Kafka broker (or uses CUSTODYWATCH_KAFKA_BOOTSTRAP), runs the
worker in event time with /metrics, streams a simulated day of custody traffic
time-compressed, prints alerts as they arrive, then a summary; cleans up.
Demo topics and group carry a run id, so a demo never mixes with real traffic.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaConsumer
from prometheus_client import CollectorRegistry

from custodywatch.config import ClockMode, Settings, Topics
from custodywatch.core.clock import iso
from custodywatch.core.config import RuleConfig
from custodywatch.localkafka import free_port, open_kafka
from custodywatch.metrics import PrometheusObserver, serve_metrics
from custodywatch.stream.publisher import stream_paced
from custodywatch.stream.worker import Worker, ensure_topics

Record = tuple[int, bytes, bytes]
LOCAL = ZoneInfo("Europe/London")


@dataclass
class DemoOptions:
    seed: int = 1
    hours: float = 24.0
    speed: float = 1800.0
    """Simulated seconds per real second (1800: one simulated hour in 2 s)."""
    quiet_gap_s: float = 2.0
    """A quiet stretch (e.g. a weekend with only remands waiting for court) is
    fast-forwarded to at most this many real seconds."""
    metrics_port: int = 9108


def _colour(severity: str, text: str, out: TextIO) -> str:
    if not out.isatty():
        return text
    return f"\033[1;31m{text}\033[0m" if severity == "critical" else f"\033[33m{text}\033[0m"


def _line(alert: dict[str, str], out: TextIO) -> str:
    due = datetime.fromisoformat(alert["due_at"]).astimezone(LOCAL).strftime("%a %H:%M")
    what = f"{alert['rule']}/{alert['stage']}"
    return f"  {due}  {alert['suite_id']:<16} {_colour(alert['severity'], f'{what:<34}', out)} {alert['summary']}"


async def _watch_alerts(
    settings: Settings, seen: Counter[str], stop: asyncio.Event, out: TextIO
) -> None:
    consumer = AIOKafkaConsumer(
        settings.topics.alerts,
        **settings.kafka.client_kwargs(),
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    alert = json.loads(record.value)
                    seen[f"{alert['rule']}/{alert['stage']}"] += 1
                    print(_line(alert, out), file=out, flush=True)
    finally:
        await consumer.stop()


async def run_demo(
    options: DemoOptions, records: Iterable[Record], out: TextIO = sys.stdout
) -> int:
    run = uuid.uuid4().hex[:6]
    print("custodywatch demo: starting a local Kafka broker ...", file=out, flush=True)
    with open_kafka() as kafka:
        topics = Topics.prefixed(f"demo-{run}")
        settings = Settings(
            kafka=kafka, topics=topics, group_id=f"demo-{run}", clock_mode=ClockMode.EVENT
        )
        await ensure_topics(settings)
        registry = CollectorRegistry()
        worker = Worker(settings, RuleConfig(), PrometheusObserver(registry))
        port = options.metrics_port
        try:
            server = serve_metrics(registry, "127.0.0.1", port)
        except OSError:
            port = free_port()
            server = serve_metrics(registry, "127.0.0.1", port)
        print(
            f"broker {kafka.bootstrap_servers}; worker running (event time); "
            f"metrics on http://127.0.0.1:{port}/metrics\n"
            f"streaming {options.hours:g} simulated hours at {options.speed:g}x "
            f"(quiet stretches fast-forwarded); alerts:",
            file=out,
            flush=True,
        )
        stop = asyncio.Event()
        seen: Counter[str] = Counter()
        tasks = [
            asyncio.create_task(worker.run(stop)),
            asyncio.create_task(_watch_alerts(settings, seen, stop, out)),
        ]
        try:
            sent = await stream_paced(
                settings, records, options.speed, _progress(out), options.quiet_gap_s
            )
            await asyncio.sleep(5)  # let the last ticks and alerts land
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            server.shutdown()
        _summary(registry, sent, seen, out)
    return 0


def _progress(out: TextIO) -> Callable[[int, int], None]:
    def show(now_us: int, sent: int) -> None:
        local = datetime.fromisoformat(iso(now_us)).astimezone(LOCAL)
        print(f"-- {local:%a %d %b %H:%M} simulated, {sent:,} events sent", file=out, flush=True)

    return show


def _summary(registry: CollectorRegistry, sent: int, seen: Counter[str], out: TextIO) -> None:
    rejected: Counter[str] = Counter()
    for metric in registry.collect():
        if metric.name == "custodywatch_events_rejected":
            for sample in metric.samples:
                if sample.name.endswith("_total") and sample.value:
                    rejected[sample.labels["reason"]] = int(sample.value)
    print(f"\nsummary: {sent:,} events sent, {sum(seen.values())} alerts", file=out)
    for key, count in sorted(seen.items()):
        print(f"  {key:<40} {count:>5}", file=out)
    print(f"rejected to the dead-letter topic: {sum(rejected.values())}", file=out)
    for reason, count in sorted(rejected.items()):
        print(f"  {reason:<40} {count:>5}", file=out)


def demo_records(options: DemoOptions) -> Iterable[Record]:
    """A simulated day from 08:00 local, so the evening and the night are in view."""
    from custodywatch.sim.config import SimConfig
    from custodywatch.sim.generator import iter_records

    start = datetime(2025, 11, 14, 8, 0, tzinfo=LOCAL).astimezone(UTC)
    months = options.hours / 24 / (365.2425 / 12)
    return iter_records(SimConfig(seed=options.seed, start=start, months=months))
