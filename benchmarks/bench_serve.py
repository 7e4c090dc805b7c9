"""`custodywatch serve` live (wall clock): notification latency and escalation lateness.

    .venv/bin/python benchmarks/bench_serve.py [--alerts 300] [--rate 30] [--rounds 3]
                                               [--store sqlite|postgresql]

Starts ONE local Kafka broker (or uses CUSTODYWATCH_KAFKA_BOOTSTRAP) and an aiohttp
webhook receiver in this process; each round runs a fresh `custodywatch serve
--clock-mode wall` (a subprocess; a SQLite file, or a database on a throwaway
PostgreSQL server with fsync on; every recipient a signed webhook to
the receiver, a ladder whose second step is 5 s after the raise), then:

1. publishes --alerts raised alert records at --rate per second, each in its own
   Kafka transaction; an alert's latency is from its commit returning to the
   receiver getting the sergeant's notification (both on this machine's clock);
2. waits for every alert's escalation to the duty inspector; lateness is the step's
   time taken minus its due time, from each alert's case in the store (what
   `custodywatch_escalation_lateness_seconds` observes);
3. meanwhile a plain read_committed consumer tails the same topic: its latency
   from commit to record is the baseline, what Kafka alone costs on this machine.

Prints per round and then the median and range over rounds of each figure.
Targets: notification p99 < 2 s, escalation lateness p99 < 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from aiohttp import web
from serve.traffic import Receiver, ladder, publish, raw_tail, routing_yaml
from sqlalchemy import select

from custodywatch.config import Settings, Topics
from custodywatch.localkafka import KafkaConnection, open_kafka
from custodywatch.store.db import open_engine
from custodywatch.store.fold import ensure_fold_topics
from custodywatch.store.pgserver import LocalPostgres
from custodywatch.store.schema import alerts

STEP_S = 5


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def wait_for(check: object, what: str, within_s: float = 120) -> None:
    deadline = time.monotonic() + within_s
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def lateness(url: str) -> list[float]:
    """Seconds each escalation step was taken after its due time, from the store."""
    engine = open_engine(url)
    with engine.connect() as connection:
        cases = [c for (c,) in connection.execute(select(alerts.c.lifecycle)) if c]
    engine.dispose()
    return [(s["at"] - s["due_at"]) / 1e6 for c in cases for s in c["steps"] if s["step"] >= 1]


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def round_of(
    kafka: KafkaConnection, args: argparse.Namespace, tmp: Path, pg: LocalPostgres | None
) -> dict[str, float]:
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka=kafka, topics=Topics.prefixed(f"bench-{run}"), group_id=f"bench-{run}"
    )
    await ensure_fold_topics(settings)
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
    (tmp / f"routing-{run}.yaml").write_text(routing_yaml(receiver.port))
    (tmp / f"ladder-{run}.yaml").write_text(ladder(STEP_S))
    url = (
        f"sqlite:///{tmp / f'store-{run}.db'}" if pg is None else pg.create_database(f"bench_{run}")
    )
    env = {
        **os.environ,
        **settings.to_env(),
        "CUSTODYWATCH_DATABASE_URL": url,
        "CUSTODYWATCH_ROUTING": str(tmp / f"routing-{run}.yaml"),
        "CUSTODYWATCH_ESCALATION": str(tmp / f"ladder-{run}.yaml"),
        "CUSTODYWATCH_SERVE_METRICS_PORT": "0",
        "CW_BENCH_SECRET": "bench-secret",
        "CUSTODYWATCH_LOG_LEVEL": "WARNING",
    }
    log = (tmp / f"serve-{run}.log").open("wb")
    serve = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "custodywatch.cli", "serve", "--clock-mode", "wall"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # serve has joined the group and folds: measure from here.
        (warm,) = await publish(settings, f"W{run}", 1, rate=1)
        await wait_for(lambda: (warm, "raised") in receiver.arrived, "serve to start")
        raw_seen: dict[str, float] = {}
        stop_raw = asyncio.Event()
        tail = asyncio.create_task(raw_tail(settings, raw_seen, stop_raw))
        began = time.perf_counter()
        committed = await publish(settings, run, args.alerts, args.rate)
        published_s = time.perf_counter() - began
        ids = list(committed)
        await wait_for(
            lambda: all((a, "escalated") in receiver.arrived for a in ids), "every escalation"
        )
        latency = [receiver.arrived[(a, "raised")] - committed[a] for a in ids]
        late = lateness(url)
        stop_raw.set()
        await tail
        raw = [raw_seen[a] - committed[a] for a in ids]
    finally:
        serve.terminate()
        await asyncio.wait_for(serve.wait(), 30)
        log.close()
        await runner.cleanup()
    return {
        "notify_p50": p(latency, 0.5),
        "notify_p99": p(latency, 0.99),
        "notify_max": max(latency),
        "late_p50": p(late, 0.5),
        "late_p99": p(late, 0.99),
        "raw_p50": p(raw, 0.5),
        "raw_p99": p(raw, 0.99),
        "publish_rate": args.alerts / published_s,
    }


async def main(args: argparse.Namespace) -> int:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    rounds: list[dict[str, float]] = []
    with ExitStack() as stack:
        kafka = stack.enter_context(open_kafka())
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        pg = None
        if args.store == "postgresql":
            pg = stack.enter_context(LocalPostgres(durable=True))
        for i in range(args.rounds):
            figures = await round_of(kafka, args, Path(tmp), pg)
            rounds.append(figures)
            say(
                f"round {i + 1}/{args.rounds}: "
                + ", ".join(f"{k} {v:.3f}" for k, v in figures.items())
            )
    print(
        f"{args.alerts} alerts at {args.rate}/s per round, {args.rounds} rounds, {args.store} store"
    )
    for name, label, unit in (
        ("notify_p50", "notification latency p50", "s"),
        ("notify_p99", "notification latency p99", "s"),
        ("notify_max", "notification latency max", "s"),
        ("late_p50", "escalation lateness p50", "s"),
        ("late_p99", "escalation lateness p99", "s"),
        ("raw_p50", "raw consumer latency p50", "s"),
        ("raw_p99", "raw consumer latency p99", "s"),
        ("publish_rate", "alerts committed per second", "/s"),
    ):
        values = [r[name] for r in rounds]
        print(
            f"{label:<28} {statistics.median(values):>10.3f} {unit}  "
            f"(range {min(values):.3f}-{max(values):.3f})"
        )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--alerts", type=int, default=300)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    sys.exit(asyncio.run(main(parser.parse_args())))
