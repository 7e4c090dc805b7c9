"""Restart time as history grows: restore a partition's engine after 1 and 5 simulated years.

    .venv/bin/python benchmarks/bench_restore.py [--years 1 5] [--partitions 4] [--repeat 5]

A large force at the simulator's default rate (54,929 detentions in ten months,
SimConfig(seed=1)) is run through the pure engine in-process, in event time, one
engine per partition (keys partitioned as Kafka's default partitioner does), twice
over the same decoded events: with the default 30-day retention of ended episodes,
and with none (every ended episode kept: the old behaviour).

At each year mark, after a tick at the last event's time (so due expiries are
applied, as the worker's clock ticks would), each partition's changelog is taken
AS IT STANDS AFTER COMPACTION: the latest value per key, i.e. one record per open
episode, one per ended episode still remembered, and the partition clock
(CLOCK_KEY); tombstones of forgotten episodes are left out (the cleaner drops them
after delete.retention.ms). It is produced to a fresh compacted topic on a real
broker (the local one, or CUSTODYWATCH_KAFKA_BOOTSTRAP), then the worker's own
`restore_engine` is timed per partition (--repeat times, median and range), and
for all partitions at once as a worker claims them; the restored engines' memory is
measured with tracemalloc in a separate, untimed pass.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import statistics
import sys
import time
import tracemalloc
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aiokafka.partitioner import murmur2

from custodywatch import core_build
from custodywatch.config import Settings, Topics
from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.config import RuleConfig
from custodywatch.core.engine import Engine
from custodywatch.core.engine_state import episode_state
from custodywatch.localkafka import KafkaConnection, open_kafka
from custodywatch.sim.config import SimConfig, add_months
from custodywatch.sim.records import iter_records
from custodywatch.stream.changelog import CLOCK_KEY, ensure_topics, restore_engine
from custodywatch.stream.publisher import producer_for

DAY_US = 86_400_000_000
RETENTION_DAYS = 30.0
NO_RETENTION_DAYS = 1e9
"""'None' as a setting: every ended episode is remembered for ever in practice."""


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def partition_of(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner (murmur2, positive), as the publisher's producer uses."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


@dataclass
class Changelog:
    """One partition's compacted changelog: (key, value) in no particular order."""

    records: list[tuple[bytes, bytes]]
    open_episodes: int
    ended_kept: int

    @property
    def size(self) -> int:
        return sum(len(k) + len(v) for k, v in self.records)


def compacted(engine: Engine) -> Changelog:
    """The latest value per key, as the worker writes them (open, ended kept, clock)."""
    records = [
        (rid.encode(), json.dumps(episode_state(engine, rid), separators=(",", ":")).encode())
        for rid in (*engine.episodes, *engine.closed)
    ]
    records.append((CLOCK_KEY.encode(), json.dumps({"clock": engine.clock}).encode()))
    return Changelog(records, len(engine.episodes), len(engine.closed))


def simulate(
    years: Sequence[int], partitions: int
) -> dict[tuple[int, str], tuple[list[Changelog], int]]:
    """{(years, retention label): (changelog per partition, events processed)}."""
    rules = RuleConfig()
    config = SimConfig(seed=1, months=12 * max(years))
    marks = sorted(years)
    mark_us = [int(add_months(config.start, 12 * y).timestamp()) * 1_000_000 for y in marks]
    labels = {"30 days": RETENTION_DAYS, "none": NO_RETENTION_DAYS}
    engines = {
        label: [Engine(rules, closed_retention_us=int(days * DAY_US)) for _ in range(partitions)]
        for label, days in labels.items()
    }
    out: dict[tuple[int, str], tuple[list[Changelog], int]] = {}
    processed = 0
    started = time.perf_counter()

    def take(y: int) -> None:
        for label, parts in engines.items():
            for engine in parts:
                engine.advance(engine.clock)  # a tick at the last event: due expiries apply
                engine.dirty.clear()
            out[(y, label)] = ([compacted(e) for e in parts], processed)
        say(f"  year {y}: {processed:,} events in {time.perf_counter() - started:.0f} s")

    for at, key, value in iter_records(config):
        while mark_us and at >= mark_us[0]:
            take(marks.pop(0))
            mark_us.pop(0)
        event = decode(value)
        if isinstance(event, Reject):
            continue
        p = partition_of(key, partitions)
        for parts in engines.values():
            parts[p].process(event)
        processed += 1
        if processed % 10_000 == 0:  # the worker clears it after each batch
            for parts in engines.values():
                parts[p].dirty.clear()
    for y in marks:
        take(y)
    return out


async def produce(settings: Settings, changelogs: list[Changelog]) -> None:
    await ensure_topics(settings)
    producer = await producer_for(settings)
    try:
        for p, changelog in enumerate(changelogs):
            for key, value in changelog.records:
                await producer.send(settings.topics.state, key=key, value=value, partition=p)
        await producer.flush()
    finally:
        await producer.stop()


@dataclass
class Timing:
    per_partition: list[float]
    together: list[float]
    memory: int


async def time_restore(settings: Settings, repeat: int) -> Timing:
    rules = RuleConfig()
    parts = range(settings.partitions)
    per_partition: list[float] = []
    together: list[float] = []
    for _ in range(repeat):
        for p in parts:
            started = time.perf_counter()
            await restore_engine(settings, rules, p)
            per_partition.append(time.perf_counter() - started)
        started = time.perf_counter()
        await asyncio.gather(*(restore_engine(settings, rules, p) for p in parts))
        together.append(time.perf_counter() - started)
    # Memory: a separate pass, as tracemalloc slows allocation down.
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    engines = [await restore_engine(settings, rules, p) for p in parts]
    gc.collect()
    memory = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del engines
    return Timing(per_partition, together, memory)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


async def bench(kafka: KafkaConnection, args: argparse.Namespace) -> None:
    say(f"simulating {max(args.years)} years through the engine ({args.partitions} partitions)")
    runs = simulate(args.years, args.partitions)
    rows: list[tuple[str, ...]] = []
    for (years, label), (changelogs, events) in sorted(runs.items()):
        run = f"bench-restore-{uuid.uuid4().hex[:8]}"
        settings = Settings(
            kafka=kafka,
            topics=Topics.prefixed(run),
            group_id=f"{run}-group",
            partitions=args.partitions,
            closed_retention_days=RETENTION_DAYS if label == "30 days" else NO_RETENTION_DAYS,
        )
        say(f"{years} y, retention {label}: producing the changelog to {settings.topics.state}")
        await produce(settings, changelogs)
        timing = await time_restore(settings, args.repeat)
        rows.append(
            (
                f"{years}",
                label,
                f"{events:,}",
                f"{sum(c.open_episodes for c in changelogs):,}",
                f"{sum(c.ended_kept for c in changelogs):,}",
                f"{sum(len(c.records) for c in changelogs):,}",
                f"{sum(c.size for c in changelogs) / 1e6:,.1f}",
                spread(timing.per_partition),
                spread(timing.together),
                f"{timing.memory / 1e6:,.1f}",
            )
        )
    header = (
        "years",
        "retention",
        "events",
        "open",
        "ended kept",
        "changelog records",
        "MB",
        "restore 1 partition s",
        f"all {args.partitions} at once s",
        "engines MB",
    )
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    print(
        f"custodywatch restore benchmark: {args.partitions} partitions, core "
        f"{core_build()}, broker {kafka.bootstrap_servers}, {datetime.now():%Y-%m-%d}\n"
        f"changelog = the latest value per key after compaction (open episodes, ended "
        f"ones within the retention, the clock key); totals over all partitions;\n"
        f"restore times: median (min-max) of {args.repeat} repeats"
        f" (x {args.partitions} partitions for '1 partition'); memory by tracemalloc\n"
    )
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if min(args.years) < 1:
        parser.error("--years must be whole years >= 1")
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # retries of a fresh topic
    with open_kafka() as kafka:
        asyncio.run(bench(kafka, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
