"""`custodywatch demo`: the whole system on one machine, in a few minutes.

Starts a local Kafka broker (or uses CUSTODYWATCH_KAFKA_BOOTSTRAP), runs the
worker in event time with /metrics and `serve` on a throwaway SQLite store
(the escalation ladder, signed webhooks to a local receiver standing in for
every recipient, the children's suites' sergeants, who acknowledge critical alerts),
streams a simulated day of arrivals time-compressed (their detentions run on,
e.g. remands over a weekend), prints alerts and notifications as they arrive,
then a summary and a safeguarding report from the store; cleans up. Ctrl-C (or SIGTERM)
stops it early: it still cleans up and prints the summary, and exits 130.
Demo topics and group carry a run id, so a demo never mixes with real traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaConsumer
from prometheus_client import CollectorRegistry

from custodywatch.alerting.clock import EventClock
from custodywatch.alerting.service import serve
from custodywatch.config import ClockMode, Settings, Topics
from custodywatch.core.clock import iso
from custodywatch.core.config import RuleConfig
from custodywatch.demo_people import People, demo_routing, write_report
from custodywatch.errors import INTERRUPTED
from custodywatch.lifecycle.policy import EscalationPolicy
from custodywatch.localkafka import KafkaConnection, free_port, open_kafka
from custodywatch.localkafka.connection import start_or_close
from custodywatch.metrics import PrometheusObserver
from custodywatch.metrics_http import serve_metrics
from custodywatch.observer import NullObserver
from custodywatch.stream.changelog import ensure_topics
from custodywatch.stream.publisher import stream_paced
from custodywatch.stream.worker import Worker

Record = tuple[int, bytes, bytes]
LOCAL = ZoneInfo("Europe/London")
START = datetime(2025, 11, 14, 8, 0, tzinfo=LOCAL)
"""A Friday morning: the evening, the night and a weekend's remands are in view."""
log = logging.getLogger("custodywatch.demo")


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


def _shown_at(alert: dict[str, Any]) -> str:
    """A raise is shown at its due time; a resolution or retraction when it happened."""
    state = alert.get("state", "raised")
    return str(alert["due_at"] if state == "raised" else alert["state_at"])


def _line(alert: dict[str, Any], out: TextIO) -> str:
    when = datetime.fromisoformat(_shown_at(alert)).astimezone(LOCAL).strftime("%a %H:%M")
    what = f"{alert['rule']}/{alert['stage']}"
    state = alert.get("state", "raised")
    flag = "" if state == "raised" else f"[{state}] "
    return (
        f"  {when}  {alert['suite_id']:<16} {alert['custody_record_id']:<14} "
        f"{_colour(alert['severity'], f'{what:<34}', out)} {flag}{alert['summary']}"
    )


def _in_time_order(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(alerts, key=lambda a: (datetime.fromisoformat(_shown_at(a)), a["alert_id"]))


async def _watch_alerts(
    settings: Settings, seen: Counter[str], stop: asyncio.Event, out: TextIO
) -> None:
    """Print alerts as they arrive, a second's worth at a time in time order
    (partitions publish independently, so arrival order is not time order)."""
    consumer = AIOKafkaConsumer(
        settings.topics.alerts,
        **settings.kafka.client_kwargs(),
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        for alert in _in_time_order(pending):
            state = alert.get("state", "raised")
            suffix = "" if state == "raised" else f" ({state})"
            seen[f"{alert['rule']}/{alert['stage']}{suffix}"] += 1
            print(_line(alert, out), file=out, flush=True)
        pending.clear()

    await start_or_close(consumer)
    try:
        due = time.monotonic() + 1.0
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            pending.extend(json.loads(r.value) for records in batch.values() for r in records)
            if time.monotonic() >= due:
                flush()
                due = time.monotonic() + 1.0
    finally:
        flush()
        await consumer.stop()


class _Counted:
    """The records, counting those handed to the publisher (the count on Ctrl-C)."""

    def __init__(self, records: Iterable[Record]) -> None:
        self.records, self.taken = records, 0

    def __iter__(self) -> Iterator[Record]:
        for record in self.records:
            self.taken += 1
            yield record


@contextlib.contextmanager
def _interrupts(interrupted: asyncio.Event) -> Iterator[None]:
    """Ctrl-C and SIGTERM set `interrupted` instead of tearing the event loop down,
    so that the demo can stop its broker and worker and still print its summary."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupted.set)
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _where(external: KafkaConnection | None) -> str:
    if external is None:
        return "starting a local Kafka broker"
    return f"using the Kafka cluster at {external.bootstrap_servers} (CUSTODYWATCH_KAFKA_BOOTSTRAP)"


async def run_demo(
    options: DemoOptions, records: Iterable[Record], out: TextIO = sys.stdout
) -> int:
    """0 when the day has been streamed, 130 when interrupted (after cleaning up)."""
    run = uuid.uuid4().hex[:6]
    interrupted = asyncio.Event()
    counted = _Counted(records)
    print(f"custodywatch demo: {_where(KafkaConnection.from_env())} ...", file=out, flush=True)
    with (
        _interrupts(interrupted),
        open_kafka() as kafka,
        tempfile.TemporaryDirectory(prefix="custodywatch-demo-") as store_dir,
    ):
        topics = Topics.prefixed(f"demo-{run}")
        settings = Settings(
            kafka=kafka,
            topics=topics,
            group_id=f"demo-{run}",
            clock_mode=ClockMode.EVENT,
            database_url=f"sqlite:///{store_dir}/store.db",
        )
        await ensure_topics(settings)
        clock = EventClock(settings)
        people = People(settings.database_url, clock, out)
        await people.start()
        registry = CollectorRegistry()
        worker = Worker(settings, RuleConfig(), PrometheusObserver(registry))
        try:
            server = serve_metrics(registry, "127.0.0.1", options.metrics_port)
        except OSError:  # in use: the demo is still worth seeing
            server = serve_metrics(registry, "127.0.0.1", free_port())
        log.info(
            "demo started",
            extra={"run": run, "bootstrap": kafka.bootstrap_servers, "metrics_port": server.port},
        )
        print(_banner(options, kafka.bootstrap_servers, server.port), file=out, flush=True)
        stop = asyncio.Event()
        seen: Counter[str] = Counter()
        routing = demo_routing(people.port)
        tasks = [
            asyncio.create_task(worker.run(stop)),
            asyncio.create_task(_watch_alerts(settings, seen, stop, out)),
            asyncio.create_task(
                serve(
                    settings,
                    EscalationPolicy(),
                    routing,
                    NullObserver(),
                    batch=500,
                    stop=stop,
                    clock=clock,
                    rules=RuleConfig(),
                )
            ),
        ]
        try:
            if not interrupted.is_set():  # e.g. Ctrl-C while the broker was starting
                await _stream(settings, options, counted, out, interrupted)
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await people.stop()
            server.shutdown()
        _summary(registry, counted.taken, seen, out, interrupted.is_set())
        _people_summary(people, out)
        if not interrupted.is_set():
            end = datetime.fromtimestamp(max(clock.now_us(), 1) / 1e6, LOCAL)
            path = await asyncio.to_thread(write_report(settings.database_url, START, end))
            print(f"safeguarding report of these days, from the store: {path}", file=out)
    log.info("demo finished", extra={"run": run, "events_sent": counted.taken})
    return INTERRUPTED if interrupted.is_set() else 0


async def _stream(
    settings: Settings,
    options: DemoOptions,
    records: Iterable[Record],
    out: TextIO,
    interrupted: asyncio.Event,
) -> None:
    """Stream the records, then give the last ticks and alerts 5 s to land;
    either stops early when `interrupted` is set."""
    streaming = asyncio.create_task(
        stream_paced(settings, records, options.speed, _progress(out), options.quiet_gap_s)
    )
    waiting = asyncio.create_task(interrupted.wait())
    try:
        await asyncio.wait({streaming, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if streaming.done():
            streaming.result()  # a failure to publish is raised here
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(interrupted.wait(), 5)
    finally:
        for task in (streaming, waiting):
            task.cancel()
        await asyncio.gather(streaming, waiting, return_exceptions=True)


def _banner(options: DemoOptions, bootstrap: str, port: int) -> str:
    return (
        f"broker {bootstrap}; worker running (event time); "
        f"metrics on http://127.0.0.1:{port}/metrics\n"
        f"streaming arrivals over {options.hours:g} simulated hours from "
        f"{START:%a %d %b %H:%M} at {options.speed:g}x, and each detention on to its end\n"
        f"(a child refused bail may wait for Monday's court, so the clock runs on past them;\n"
        f"quiet stretches are fast-forwarded). Ctrl-C stops early.\n"
        f"serve (store, escalation ladder, signed webhooks) tells people: lines 'notify'\n"
        f"(when, kind, recipient, custody record, alerts); the sergeants of the children's\n"
        f"suites (perry-barr, oldbury) acknowledge critical alerts ('ack'); elsewhere they climb.\n"
        f"alerts (time, suite, custody record, rule/stage):"
    )


def _progress(out: TextIO) -> Callable[[int, int], None]:
    def show(now_us: int, sent: int) -> None:
        local = datetime.fromisoformat(iso(now_us)).astimezone(LOCAL)
        print(f"-- {local:%a %d %b %H:%M} simulated, {sent:,} events sent", file=out, flush=True)

    return show


def _summary(
    registry: CollectorRegistry, sent: int, seen: Counter[str], out: TextIO, interrupted: bool
) -> None:
    rejected: Counter[str] = Counter()
    for metric in registry.collect():
        if metric.name == "custodywatch_events_rejected":
            for sample in metric.samples:
                if sample.name.endswith("_total") and sample.value:
                    rejected[sample.labels["reason"]] = int(sample.value)
    stopped = "interrupted; " if interrupted else ""
    settled = sum(n for key, n in seen.items() if key.endswith(("(resolved)", "(retracted)")))
    print(
        f"\nsummary: {stopped}{sent:,} events sent, {sum(seen.values())} alert records "
        f"({sum(seen.values()) - settled} raised, {settled} resolved or retracted)",
        file=out,
    )
    for key, count in sorted(seen.items()):
        print(f"  {key:<40} {count:>5}", file=out)
    print(f"rejected to the dead-letter topic: {sum(rejected.values())}", file=out)
    if rejected:
        print(
            "  (deliberate producer mistakes the simulator mixes in, e.g. broken JSON: each is set\n"
            "   aside with its reason and the stream goes on; live, `custodywatch dlq tail` shows them)",
            file=out,
        )
    for reason, count in sorted(rejected.items()):
        print(f"  {reason:<40} {count:>5}", file=out)


def _people_summary(people: People, out: TextIO) -> None:
    counts = people.counts
    print(
        f"notifications delivered (signed webhooks): {counts['raised']} on raise, "
        f"{counts['escalated']} escalations, {counts['resolved']} resolved and "
        f"{counts['retracted']} retracted notices; {counts['acknowledged']} acknowledged "
        f"by the children's suites' sergeants; {counts['bad signature']} bad signatures",
        file=out,
    )


def demo_records(options: DemoOptions) -> Iterable[Record]:
    """Arrivals over `options.hours` from `START`, with their whole detentions."""
    from custodywatch.sim.config import SimConfig
    from custodywatch.sim.records import iter_records

    months = options.hours / 24 / (365.2425 / 12)
    return iter_records(SimConfig(seed=options.seed, start=START.astimezone(UTC), months=months))
