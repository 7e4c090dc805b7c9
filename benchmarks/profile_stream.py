"""Where the worker's CPU goes: the real worker, in-process, sampled by py-spy, on a real broker.

    .venv/bin/python benchmarks/profile_stream.py [--events 30000] [--partitions 4] [--top 45]
        [--spy PATH]

Starts a local Kafka broker (or uses CUSTODYWATCH_KAFKA_BOOTSTRAP), publishes about
--events simulated events (the stream benchmark's job), then runs `Worker` in event
time in this process until its committed offsets reach the end of the events topic.
Prints the CPU per event (of this process, while the worker ran). With py-spy on the
PATH or in the venv (`pip install py-spy`; not a project dependency), it samples this
process meanwhile (250 Hz, the worker's run only; py-spy does not slow it down as
cProfile does) and prints the functions with the most samples, inclusive and self.
Compiled code (the mypyc core, pydantic-core) counts towards the Python function that
called it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench_stream import sim_records
from prometheus_client import CollectorRegistry
from stream.common import ROOT, run_settings, say
from stream.kafka import Offsets, publish

from custodywatch.config import ClockMode
from custodywatch.core.config import RuleConfig
from custodywatch.localkafka import KafkaConnection, open_kafka
from custodywatch.metrics import PrometheusObserver
from custodywatch.stream.changelog import ensure_topics
from custodywatch.stream.worker import Worker


def py_spy() -> str | None:
    venv = Path(sys.executable).parent / "py-spy"
    return str(venv) if venv.exists() else shutil.which("py-spy")


async def run(kafka: KafkaConnection, events: int, partitions: int, spy: Path | None) -> None:
    settings = run_settings(kafka, "profile", partitions).model_copy(
        update={"clock_mode": ClockMode.EVENT}
    )
    await ensure_topics(settings)
    records = sim_records(events)
    say(f"publishing {len(records):,} events")
    await publish(settings, records)
    worker = Worker(settings, RuleConfig(), PrometheusObserver(CollectorRegistry()))
    stop = asyncio.Event()
    sampler = None
    binary = py_spy()
    if spy is not None and binary is not None:
        argv = [binary, "record", "-r", "250", "-f", "raw", "-o", str(spy), "--pid"]
        # Popen, not asyncio's: its child watcher thread would show up in the samples.
        sampler = subprocess.Popen([*argv, str(os.getpid())], stdout=subprocess.DEVNULL)  # noqa: ASYNC220
        await asyncio.sleep(1.0)  # attached
    async with Offsets(settings) as offsets:
        cpu, wall = time.process_time(), time.monotonic()
        task = asyncio.create_task(worker.run(stop))
        await offsets.wait_caught_up(settings.topics.events, within_s=600, poll_s=0.05)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        if sampler is not None:
            sampler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            sampler.wait(timeout=60)
        stop.set()
        await task
    print(
        f"{len(records):,} events; CPU of this process while the worker ran: "
        f"{cpu / len(records) * 1e6:.0f} us/event; {len(records) / wall:,.0f} events/s from "
        f"start (start-up included), {cpu / wall:.0%} of a core; load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )


def frame_name(frame: str) -> str:
    """'func (path/to/file.py:12)' -> 'func (file.py)'."""
    return re.sub(r" \(.*?([^/]+\.py):\d+\)", r" (\1)", frame)


def summarise(spy: Path, top: int) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in spy.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [frame_name(f) for f in stack.split(";")]
        n = int(count)
        total += n
        own[frames[-1]] += n
        for name in set(frames):
            inclusive[name] += n
    print(f"\n{total} samples (CPU only; idle waits are not sampled)\n\ninclusive:")
    for name, n in inclusive.most_common(top):
        print(f"  {n / total:6.1%}  {name}")
    print("\nself:")
    for name, n in own.most_common(top):
        print(f"  {n / total:6.1%}  {name}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--spy", type=Path, default=ROOT / "build" / "profile-stream.spy")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    spy: Path | None = args.spy
    if py_spy() is None:
        say("py-spy not found: CPU per event only (pip install py-spy to sample)")
        spy = None
    with open_kafka() as kafka:
        asyncio.run(run(kafka, args.events, args.partitions, spy))
    if spy is not None and spy.exists():
        summarise(spy, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
