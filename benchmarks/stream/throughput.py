"""Throughput in interleaved rounds: raw consume, this worker, the peer, over the same events.

Each round runs the three in turn (the order alternates between rounds, so that
neither always runs first on a machine whose load drifts), each over the whole
pre-published events topic: the baseline with a plain consumer, the worker (event
time, a fresh group and fresh alerts/state/clock topics, so an empty changelog) and
Quix (a fresh group and state directory), and with --before the worker of an older
commit, the same way. After each worker run the clock is ticked
to the last event and its published alerts must equal `replay` over the same events.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from custodywatch.config import ClockMode, Settings
from custodywatch.core.config import RuleConfig
from custodywatch.localkafka import KafkaConnection
from custodywatch.replay import replay_lines
from custodywatch.stream.changelog import ensure_topics
from custodywatch.stream.publisher import send_ticks
from stream.common import ROOT, WorkerProcess, fresh_group, say
from stream.kafka import CpuMeter, Offsets, baseline_rate, read_topic
from stream.peer import PeerRun, peer_run


@dataclass
class WorkerRun:
    rate: float
    """Events/s from every partition claimed to the committed offsets at the end."""
    rate_with_startup: float
    """Events/s from process start."""
    claimed_s: float
    """Process start to every partition claimed."""
    first_s: float
    """Process start to its first batch committed (an empty changelog)."""
    applied_s: float | None
    """Process start to its first events applied, from its log (None: a worker that
    does not log it, e.g. an older revision)."""
    worker_cpu: float
    machine_busy: float
    cpu_per_event_us: float
    """The process's CPU time from its start to done, per event: the figure that a busy
    machine moves least (it slows a process down, but adds little CPU work to it)."""
    alerts: int
    identical: bool


@dataclass
class Rounds:
    events: int
    replay_alerts: int
    baseline: list[float] = field(default_factory=list)
    worker: list[WorkerRun] = field(default_factory=list)
    before: list[WorkerRun] = field(default_factory=list)
    """The worker at --before, when given."""
    processes: int = 1
    multi: list[WorkerRun] = field(default_factory=list)
    """`worker --processes N`, when N > 1."""
    peer: list[PeerRun] = field(default_factory=list)


async def worker_run(
    settings: Settings,
    events: int,
    last_at: int,
    expected: Counter[str],
    log: Path,
    root: Path = ROOT,
    processes: int = 1,
) -> WorkerRun:
    await ensure_topics(settings)
    async with Offsets(settings) as offsets:
        worker = WorkerProcess(settings, ClockMode.EVENT, log, root, processes)
        first = asyncio.create_task(offsets.wait_first_commit(settings.topics.events))
        # Only this revision's worker logs it.
        applied = (
            asyncio.create_task(worker.wait_for(b"first events applied")) if root == ROOT else None
        )
        claimed = await worker.wait_claimed()
        cpu = CpuMeter(worker.proc.pid)
        done = await offsets.wait_caught_up(
            settings.topics.events, within_s=max(120.0, events / 500), poll_s=0.02
        )
        first_at = await first
        applied_at = None if applied is None else await applied
        worker_cpu, machine_busy = cpu.since_start(done - claimed)
        cpu_total_s = cpu.sample()[0]
        await send_ticks(settings, last_at)  # fire the rest, to compare with replay
        await offsets.wait_caught_up(settings.topics.clock, within_s=60)
    published = Counter(
        json.dumps(json.loads(v), sort_keys=True)
        for v in await read_topic(settings, settings.topics.alerts)
    )
    worker.stop()
    run = WorkerRun(
        rate=events / (done - claimed),
        rate_with_startup=events / (done - worker.started),
        claimed_s=claimed - worker.started,
        first_s=first_at - worker.started,
        applied_s=None if applied_at is None else applied_at - worker.started,
        worker_cpu=worker_cpu,
        machine_busy=machine_busy,
        cpu_per_event_us=cpu_total_s / events * 1e6,
        alerts=sum(published.values()),
        identical=published == expected,
    )
    label = "" if root == ROOT else " before"
    label += f" --processes {processes}" if processes > 1 else ""
    say(
        f"  worker{label}: {run.rate:,.0f} events/s after claimed, {run.rate_with_startup:,.0f} from "
        f"start, first batch at {run.first_s:.2f} s, {run.cpu_per_event_us:.0f} us CPU/event, "
        f"{run.alerts:,} alerts "
        f"({'identical to' if run.identical else 'DIFFERENT from'} replay)"
    )
    return run


async def rounds(
    base: Settings,
    kafka: KafkaConnection,
    lines: list[bytes],
    last_at: int,
    count: int,
    logs: Path,
    before: Path | None = None,
    processes: int = 1,
) -> Rounds:
    result = replay_lines(lines, RuleConfig(), until=last_at)
    expected = Counter(json.dumps(a.to_dict(), sort_keys=True) for a in result.history)
    out = Rounds(len(lines), sum(expected.values()), processes=processes)
    for i in range(count):
        say(f"round {i + 1} of {count} (machine load: {os.getloadavg()[0]:.1f})")
        settings = fresh_group(base, kafka)

        async def baseline() -> None:
            out.baseline.append(await baseline_rate(base, len(lines)))
            say(f"  raw consume + json.loads: {out.baseline[-1]:,.0f} events/s")

        async def worker(settings: Settings = settings, i: int = i) -> None:
            log = logs / f"worker-event-{i}.log"
            out.worker.append(await worker_run(settings, len(lines), last_at, expected, log))

        async def peer(settings: Settings = settings, i: int = i) -> None:
            out.peer.append(await peer_run(settings, len(lines), logs / f"quix-{i}.log"))

        async def old(i: int = i) -> None:
            if before is not None:
                settings = fresh_group(base, kafka)
                log = logs / f"worker-before-{i}.log"
                run = await worker_run(settings, len(lines), last_at, expected, log, before)
                out.before.append(run)

        async def multi(i: int = i) -> None:
            if processes > 1:
                settings = fresh_group(base, kafka)
                log = logs / f"worker-processes-{i}.log"
                run = await worker_run(
                    settings, len(lines), last_at, expected, log, ROOT, processes
                )
                out.multi.append(run)

        steps = [baseline, worker, peer, old, multi]
        for step in steps if i % 2 == 0 else reversed(steps):
            await step()
    return out
