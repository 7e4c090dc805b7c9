"""The stream benchmark's table: figures, the targets, PASS/FAIL."""

from __future__ import annotations

import math
import os
import statistics
from dataclasses import dataclass, field

from custodywatch import core_build
from stream.common import percentile, spread
from stream.live import LiveResult
from stream.throughput import Rounds

TARGET_LATENCY_P99_S = 1.0
TARGET_FIRST_S = 1.0


@dataclass
class Table:
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def row(self, name: str, value: str, target: str = "", ok: bool | None = None) -> None:
        self.rows.append((name, value, target, "" if ok is None else "PASS" if ok else "FAIL"))

    def render(self) -> str:
        header = ("measurement", "result", "target", "")
        widths = [max(len(r[i]) for r in [header, *self.rows]) for i in range(4)]
        return "\n".join(
            [
                "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
                "  ".join("-" * w for w in widths),
                *(
                    "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                    for r in self.rows
                ),
            ]
        )

    @property
    def ok(self) -> bool:
        return all(r[3] != "FAIL" for r in self.rows)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def throughput_rows(t: Table, r: Rounds, publish_rate: float) -> None:
    base = median(r.baseline)
    worker_ready = [w.rate for w in r.worker]
    worker_start = [w.rate_with_startup for w in r.worker]
    quix_ready = [p.rate for p in r.peer]
    quix_start = [p.rate_with_startup for p in r.peer]
    t.row("events published (producer, acks=all)", f"{publish_rate:,.0f} events/s")
    t.row("raw aiokafka consume + json.loads", f"{spread(r.baseline)} events/s")
    t.row(
        "worker, one process, event time, after claimed",
        f"{spread(worker_ready)} events/s = {median(worker_ready) / base:.3f} of raw",
        ">= Quix after ready",
        median(worker_ready) >= median(quix_ready),
    )
    t.row(
        "worker, one process, from process start",
        f"{spread(worker_start)} events/s = {median(worker_start) / base:.3f} of raw",
        ">= Quix from start",
        median(worker_start) >= median(quix_start),
    )
    t.row(
        "Quix 3.28 at-least-once, after first event",
        f"{spread(quix_ready)} events/s = {median(quix_ready) / base:.3f} of raw",
    )
    t.row(
        "Quix 3.28 at-least-once, from process start",
        f"{spread(quix_start)} events/s = {median(quix_start) / base:.3f} of raw",
    )
    t.row(
        "worker (one process) / Quix: after ready, start",
        f"{median(worker_ready) / median(quix_ready):.2f}x, "
        f"{median(worker_start) / median(quix_start):.2f}x",
    )
    if r.before:
        old_ready = [w.rate for w in r.before]
        old_start = [w.rate_with_startup for w in r.before]
        t.row(
            "before (--before): after claimed, from start",
            f"{spread(old_ready)} / {spread(old_start)} events/s = "
            f"{median(old_ready) / base:.3f} / {median(old_start) / base:.3f} of raw",
        )
        t.row(
            "before: start-up to first batch / to claimed",
            f"{spread([w.first_s for w in r.before], '.2f')} / "
            f"{spread([w.claimed_s for w in r.before], '.2f')} s",
        )
        t.row(
            "now / before: after claimed, from start",
            f"{median(worker_ready) / median(old_ready):.2f}x, "
            f"{median(worker_start) / median(old_start):.2f}x",
        )
    if r.multi:
        multi_rows(t, r, base, median(quix_ready), median(quix_start))
    applied = [w.applied_s for w in r.worker if w.applied_s is not None]
    if applied:
        t.row(
            "worker start-up to first events applied",
            f"{spread(applied, '.2f')} s (empty changelog; its log)",
            f"< {TARGET_FIRST_S:g} s",
            median(applied) < TARGET_FIRST_S,
        )
    t.row(
        "worker start-up to first batch committed",
        f"{spread([w.first_s for w in r.worker], '.2f')} s (empty changelog)",
    )
    t.row(
        "worker start-up to all partitions claimed",
        f"{spread([w.claimed_s for w in r.worker], '.2f')} s",
    )
    t.row(
        "Quix start-up to first event processed",
        f"{spread([p.startup_s for p in r.peer], '.2f')} s",
    )
    t.row(
        "worker CPU / machine busy while it ran",
        f"{spread([w.worker_cpu * 100 for w in r.worker])}% of a core / "
        f"{spread([w.machine_busy * 100 for w in r.worker])}% of {os.cpu_count()} cores",
    )
    cpu = f"{spread([w.cpu_per_event_us for w in r.worker])} us"
    if r.before:
        cpu += f"; before {spread([w.cpu_per_event_us for w in r.before])} us"
    t.row(
        "CPU per event, process start to done",
        f"worker {cpu}; Quix {spread([p.cpu_per_event_us for p in r.peer])} us",
    )
    identical = all(w.identical for w in r.worker)
    t.row(
        "worker alerts vs replay (every round)",
        f"{' / '.join(f'{w.alerts:,}' for w in r.worker)} vs {r.replay_alerts:,}",
        "identical",
        identical,
    )


def multi_rows(t: Table, r: Rounds, base: float, quix_ready: float, quix_start: float) -> None:
    """`worker --processes N`: N processes, one consumer group, in the same rounds."""
    n = f"--processes {r.processes}"
    ready = [w.rate for w in r.multi]
    start = [w.rate_with_startup for w in r.multi]
    t.row(
        f"worker {n}, after partitions claimed",
        f"{spread(ready)} events/s = {median(ready) / base:.3f} of raw",
        ">= Quix after ready",
        median(ready) >= quix_ready,
    )
    t.row(
        f"worker {n}, from process start",
        f"{spread(start)} events/s = {median(start) / base:.3f} of raw",
        ">= Quix from start",
        median(start) >= quix_start,
    )
    t.row(
        f"worker {n} / Quix: after ready, from start",
        f"{median(ready) / quix_ready:.2f}x, {median(start) / quix_start:.2f}x",
    )
    t.row(
        f"worker {n}: first batch / all claimed / CPU",
        f"{spread([w.first_s for w in r.multi], '.2f')} s / "
        f"{spread([w.claimed_s for w in r.multi], '.2f')} s / "
        f"{spread([w.worker_cpu * 100 for w in r.multi])}% of a core, "
        f"{spread([w.cpu_per_event_us for w in r.multi])} us per event",
    )
    t.row(
        f"worker {n} alerts vs replay (every round)",
        f"{' / '.join(f'{w.alerts:,}' for w in r.multi)} vs {r.replay_alerts:,}",
        "identical",
        all(w.identical for w in r.multi),
    )


def live_rows(t: Table, live: LiveResult) -> None:
    p99 = percentile(live.latency_s, 99)
    t.row(
        "live alerts: received - due p50 / p99",
        f"{percentile(live.latency_s, 50):.3f} / {p99:.3f} s "
        f"({len(live.latency_s)} of {live.expected} due)",
        f"p99 < {TARGET_LATENCY_P99_S:g} s",
        p99 < TARGET_LATENCY_P99_S and len(live.latency_s) >= live.expected,
    )
    t.row(
        "SIGKILL, down / backlog",
        f"{live.down_s:.0f} s / {live.backlog:,} events produced meanwhile",
    )
    t.row(
        "restart to claimed / to caught up",
        f"{live.claimed_s:.2f} s / {live.caught_up_s:.2f} s",
    )
    t.row(
        "false alerts / missing / raised twice",
        f"{len(live.false_alerts)} / {len(live.missing)} / {live.duplicates}"
        f" (against replay's {live.compared:,}; {live.retracted_false:,} false ones retracted)",
        "0 / 0 / 0",
        not live.false_alerts and not live.missing and not live.duplicates,
    )
    t.row(
        "after catching up: received - due p50 / p99",
        f"{percentile(live.after_s, 50):.3f} / {percentile(live.after_s, 99):.3f} s"
        f" ({len(live.after_s)} alerts)",
    )


def report(
    rounds: Rounds | None, live: LiveResult | None, publish_rate: float, header: str
) -> bool:
    t = Table()
    if rounds is not None:
        throughput_rows(t, rounds, publish_rate)
    if live is not None:
        live_rows(t, live)
    print(f"{header}, core {core_build()}, {os.cpu_count()} CPUs\n")
    print(t.render())
    if live is not None and (live.false_alerts or live.missing):
        print(f"false (first 5): {live.false_alerts[:5]}; missing (first 5): {live.missing[:5]}")
    return t.ok
