"""Core engine throughput and memory per open episode (no Kafka, no I/O).

    python benchmarks/bench_core.py [--events 1000000] [--juvenile-share 0.08] [--repeat 3]

Prints, for the pure core alone: events/s through `Engine.process` (fire what
is due, then apply the event), events/s including JSON decoding, and bytes per
open episode measured with tracemalloc, and the CPU time of one episode summary
(what the worker computes per changed episode). Targets (issue 2): >= 200,000
events/s on one core, <= 2 KB per open episode.

How "core alone" is timed: the worker decodes each Kafka record just before
the engine sees it, so here events are decoded in small batches (`--batch`,
default 100) and only the engine's time is counted, with the garbage collector
off. After each batch the set of changed episodes is cleared, as the worker
does when it writes their state to the changelog. Timing a list of a million
events decoded up front instead measures cache misses on cold event objects
(about a third slower on the 2-core VM). CPU time is shown next to wall time
because a shared machine makes wall time noisy; on this VM even CPU time varies
by 20% between runs, hence best and median.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from custodywatch import core_build
from custodywatch.contract.events import EVENT_ADAPTER, CustodyEvent
from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.config import RuleConfig
from custodywatch.core.engine import Engine

START = datetime(2026, 4, 1, tzinfo=UTC)
FOLLOW_UPS: list[tuple[str, dict[str, object]]] = [
    ("appropriate_adult_requested", {}),
    ("appropriate_adult_arrived", {}),
    ("detention_reviewed", {"reviewing_rank": "inspector"}),
    ("detention_reviewed", {"reviewing_rank": "inspector"}),
    ("transferred_to_suite", {"to_suite_id": "oldbury"}),
    ("charged", {"offences": ["theft"]}),
    ("bail_refused", {}),
    ("la_accommodation_requested", {"local_authority": "sandwell", "accommodation_type": "secure"}),
    ("la_accommodation_response", {"local_authority": "sandwell", "outcome": "refused"}),
]


def episode_events(
    rng: random.Random, index: int, t0: datetime, juvenile: bool, per_episode: int
) -> list[dict[str, object]]:
    record = f"CR{index:08d}"
    detainee = {"person_ref": f"P-{index:08d}", "appears_under_18": juvenile}
    events: list[dict[str, object]] = []

    def add(at: datetime, kind: str, payload: dict[str, object]) -> None:
        events.append(
            {
                "schema_version": 1,
                "event_id": f"{record}-{len(events)}",
                "event_type": kind,
                "custody_record_id": record,
                "suite_id": "perry-barr",
                "occurred_at": at.isoformat(),
                "payload": payload,
            }
        )

    add(
        t0,
        "detention_authorised",
        {
            "detainee": detainee,
            "arrested_at": (t0 - timedelta(minutes=30)).isoformat(),
            "arrived_at": (t0 - timedelta(minutes=5)).isoformat(),
            "arrest_basis": "new_offence",
            "offence_category": "theft",
            "home_local_authority": "birmingham",
        },
    )
    held = timedelta(hours=rng.uniform(2, 24))
    steps = sorted(rng.uniform(0, held.total_seconds()) for _ in range(per_episode - 2))
    for seconds in steps:
        kind, payload = rng.choice(FOLLOW_UPS)
        add(t0 + timedelta(seconds=seconds), kind, payload)
    add(t0 + held, "released", {"disposal": "bail"})
    return events


def stream(
    events: int, per_episode: int, juvenile_share: float, seed: int, arrival_s: float
) -> Iterator[dict[str, object]]:
    """Episodes arrive every `arrival_s` of event time (2 s: ~20,000 open at once), in time order."""
    rng = random.Random(seed)
    episodes = events // per_episode
    pending: list[tuple[str, int, dict[str, object]]] = []
    for i in range(episodes):
        t0 = START + timedelta(seconds=arrival_s * i)
        for event in episode_events(rng, i, t0, rng.random() < juvenile_share, per_episode):
            pending.append((str(event["occurred_at"]), len(pending), event))
    pending.sort(key=lambda item: (datetime.fromisoformat(item[0]), item[1]))
    for _, _, event in pending:
        yield event


class CoreRun(NamedTuple):
    wall: float
    cpu: float
    alerts: int
    peak_open: int


def bench_engine(raw: list[bytes], rules: RuleConfig, batch: int) -> CoreRun:
    """Engine time only: each batch is decoded just before the engine sees it."""
    engine = Engine(rules)
    wall = cpu = 0.0
    alerts = peak_open = 0
    gc.disable()
    for start in range(0, len(raw), batch):
        events = [EVENT_ADAPTER.validate_json(line) for line in raw[start : start + batch]]
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        for event in events:
            alerts += len(engine.process(event)[0])
        wall += time.perf_counter() - wall0
        cpu += time.thread_time() - cpu0
        peak_open = max(peak_open, len(engine.episodes))
        engine.dirty.clear()  # as the worker does once it has written a batch's changed state
    gc.enable()
    return CoreRun(wall, cpu, alerts, peak_open)


def bench_decode_and_engine(raw: list[bytes], rules: RuleConfig) -> float:
    engine = Engine(rules)
    started = time.perf_counter()
    for line in raw:
        event = decode(line)
        if not isinstance(event, Reject):
            engine.process(event)
    return time.perf_counter() - started


def open_episode_events(count: int, juvenile_share: float) -> list[CustodyEvent]:
    """`count` episodes with seven events each, none released, in time order."""
    rng = random.Random(7)
    parsed: list[CustodyEvent] = []
    for i in range(count):
        t0 = START + timedelta(seconds=i)
        events = episode_events(rng, i, t0, rng.random() < juvenile_share, 8)[:-1]  # never released
        parsed.extend(EVENT_ADAPTER.validate_json(json.dumps(e)) for e in events)
    parsed.sort(key=lambda e: e.occurred_at)
    return parsed


def memory_per_open_episode(count: int, juvenile_share: float, rules: RuleConfig) -> float:
    """Open `count` episodes with a handful of events each; bytes held by the engine / count."""
    parsed = open_episode_events(count, juvenile_share)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    engine = Engine(rules)
    for event in parsed:
        engine.process(event)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(engine.episodes) == count
    return (after - before) / count


def summary_us(count: int, juvenile_share: float, rules: RuleConfig) -> float:
    """CPU microseconds per `Engine.episode_summaries` entry over `count` open episodes."""
    engine = Engine(rules)
    for event in open_episode_events(count, juvenile_share):
        engine.process(event)
    rids = list(engine.episodes)
    cpu0 = time.thread_time()
    engine.episode_summaries(rids)
    return (time.thread_time() - cpu0) / len(rids) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--per-episode", type=int, default=12)
    parser.add_argument("--juvenile-share", type=float, default=0.08)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--arrival-seconds", type=float, default=2.0)
    parser.add_argument("--batch", type=int, default=100, help="events decoded at a time")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rules = RuleConfig()
    print(f"core: {core_build()} (`make core` compiles it with mypyc)")

    for share in sorted({args.juvenile_share, 1.0}):
        raw = [
            json.dumps(d).encode()
            for d in stream(args.events, args.per_episode, share, args.seed, args.arrival_seconds)
        ]
        n = len(raw)
        runs = sorted(
            (bench_engine(raw, rules, args.batch) for _ in range(args.repeat)), key=lambda r: r.cpu
        )
        best, median = runs[0], runs[len(runs) // 2]
        decode_elapsed = bench_decode_and_engine(raw, rules)
        print(
            f"juvenile share {share:.0%}: {n:,} events, peak {best.peak_open:,} open episodes, "
            f"{best.alerts:,} alerts\n"
            f"  core alone, best of {args.repeat}:   {n / best.cpu:>10,.0f} events/s CPU time"
            f" ({n / best.wall:,.0f} wall)\n"
            f"  core alone, median:      {n / median.cpu:>10,.0f} events/s CPU time"
            f" ({n / median.wall:,.0f} wall)\n"
            f"  JSON decode + validate + core, GC on: {n / decode_elapsed:>10,.0f} events/s wall"
        )
        del raw

    for share in sorted({args.juvenile_share, 1.0}):
        per = memory_per_open_episode(20_000, share, rules)
        print(
            f"memory per open episode (juvenile share {share:.0%}, 7 events each): {per:,.0f} bytes"
        )
    for share in sorted({args.juvenile_share, 1.0}):
        cost = summary_us(5_000, share, rules)
        print(f"episode summary (juvenile share {share:.0%}): {cost:,.1f} us CPU per episode")


if __name__ == "__main__":
    main()
