"""Core engine throughput and memory per open episode (no Kafka, no I/O).

    python benchmarks/bench_core.py [--events 1000000] [--juvenile-share 0.08]

Prints, for the pure core alone: events/s through `Engine.handle` + `advance`
(pre-parsed events), events/s including JSON decoding, and bytes per open
episode measured with tracemalloc. Targets (issue 2): >= 200,000 events/s on
one core, <= 2 KB per open episode.
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

from custodywatch.contract.events import EVENT_ADAPTER, CustodyEvent
from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.config import RuleConfig
from custodywatch.core.engine import Engine

START = datetime(2026, 4, 1, tzinfo=UTC)
FOLLOW_UPS = [
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


def bench_engine(parsed: list[CustodyEvent], rules: RuleConfig) -> tuple[float, int, int]:
    engine = Engine(rules)
    alerts = 0
    peak_open = 0
    gc.disable()
    started = time.perf_counter()
    for event in parsed:
        alerts += len(engine.process(event)[0])
        peak_open = max(peak_open, len(engine.episodes))
    elapsed = time.perf_counter() - started
    gc.enable()
    return elapsed, alerts, peak_open


def bench_decode_and_engine(raw: list[bytes], rules: RuleConfig) -> float:
    engine = Engine(rules)
    started = time.perf_counter()
    for line in raw:
        event = decode(line)
        if not isinstance(event, Reject):
            engine.process(event)
    return time.perf_counter() - started


def memory_per_open_episode(count: int, juvenile_share: float, rules: RuleConfig) -> float:
    """Open `count` episodes with a handful of events each; bytes held by the engine / count."""
    rng = random.Random(7)
    parsed = []
    for i in range(count):
        t0 = START + timedelta(seconds=i)
        events = episode_events(rng, i, t0, rng.random() < juvenile_share, 8)[:-1]  # never released
        parsed.extend(EVENT_ADAPTER.validate_json(json.dumps(e)) for e in events)
    parsed.sort(key=lambda e: e.occurred_at)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    engine = Engine(rules)
    for event in parsed:
        engine.handle(event)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(engine.episodes) == count
    return (after - before) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--per-episode", type=int, default=12)
    parser.add_argument("--juvenile-share", type=float, default=0.08)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--arrival-seconds", type=float, default=2.0)
    args = parser.parse_args()
    rules = RuleConfig()

    for share in sorted({args.juvenile_share, 1.0}):
        docs = list(stream(args.events, args.per_episode, share, args.seed, args.arrival_seconds))
        raw = [json.dumps(d).encode() for d in docs]
        parsed = [EVENT_ADAPTER.validate_json(r) for r in raw]
        del docs
        elapsed, alerts, peak_open = bench_engine(parsed, rules)
        decode_elapsed = bench_decode_and_engine(raw, rules)
        n = len(parsed)
        print(
            f"juvenile share {share:.0%}: {n:,} events, peak {peak_open:,} open episodes, "
            f"{alerts:,} alerts\n"
            f"  core alone (handle + advance):   {n / elapsed:>10,.0f} events/s\n"
            f"  JSON decode + validate + core:   {n / decode_elapsed:>10,.0f} events/s"
        )
        del parsed, raw

    for share in sorted({args.juvenile_share, 1.0}):
        per = memory_per_open_episode(20_000, share, rules)
        print(
            f"memory per open episode (juvenile share {share:.0%}, 7 events each): {per:,.0f} bytes"
        )


if __name__ == "__main__":
    main()
