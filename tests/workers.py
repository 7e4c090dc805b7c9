"""Helpers for tests that run `custodywatch worker` processes on the real broker."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from custodywatch.config import Settings
from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig
from custodywatch.localkafka import free_port
from custodywatch.replay import replay_lines
from custodywatch.stream.publisher import send_ticks


class WorkerProcess:
    """`custodywatch worker` as a real OS process, so it can be SIGKILLed."""

    def __init__(
        self, settings: Settings, log: Path, clock_mode: str = "event", processes: int = 1
    ) -> None:
        # Members serve on the port + i, and port + 1 may be taken: with several, any free port.
        self.metrics_port = free_port() if processes == 1 else 0
        mine = settings.model_copy(update={"metrics_port": self.metrics_port})
        # Only these settings' Kafka variables: an outer SASL or CA setting would not fit.
        outer = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODYWATCH_KAFKA_")}
        env = {**outer, **mine.to_env()}
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "custodywatch.cli", "worker", "--clock-mode", clock_mode),
                *(("--processes", str(processes)) if processes > 1 else ()),
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def start(
    settings: Settings,
    workers: list[WorkerProcess],
    tmp_path: Path,
    clock_mode: str = "event",
    processes: int = 1,
) -> WorkerProcess:
    log = tmp_path / f"worker-{len(workers)}.log"
    worker = WorkerProcess(settings, log, clock_mode, processes)
    workers.append(worker)
    return worker


async def committed_total(settings: Settings) -> int:
    admin = AIOKafkaAdminClient(**settings.kafka.client_kwargs())
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.group_id)
    except KafkaError:
        return 0
    finally:
        await admin.close()
    return sum(o.offset for tp, o in offsets.items() if tp.topic == settings.topics.events)


async def wait_for_progress(settings: Settings, at_least: int, within_s: float = 60) -> int:
    deadline = time.monotonic() + within_s
    while (done := await committed_total(settings)) < at_least:
        assert time.monotonic() < deadline, f"only {done} events committed"
        await asyncio.sleep(0.05)
    return done


async def caught_up(settings: Settings, topic: str, within_s: float = 120) -> None:
    """Wait until the group's committed offsets reach the end of every partition of topic."""
    admin = AIOKafkaAdminClient(**settings.kafka.client_kwargs())
    probe = AIOKafkaConsumer(**settings.kafka.client_kwargs())
    await admin.start()
    await probe.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(settings.partitions)]
        deadline = time.monotonic() + within_s
        while True:
            ends = await probe.end_offsets(partitions)
            try:
                committed = await admin.list_consumer_group_offsets(settings.group_id)
            except KafkaError:  # coordinator not ready yet on a fresh broker
                committed = {}
            behind = {
                tp: ends[tp] - (committed[tp].offset if tp in committed else 0)
                for tp in partitions
                if ends[tp] > (committed[tp].offset if tp in committed else 0)
            }
            if not behind:
                return
            assert time.monotonic() < deadline, f"worker did not catch up on {topic}: {behind}"
            await asyncio.sleep(0.3)
    finally:
        await probe.stop()
        await admin.close()


async def read_all(settings: Settings, topic: str) -> list[Any]:
    """Every committed message of a topic, read until it stays quiet."""
    consumer = AIOKafkaConsumer(
        topic,
        **settings.kafka.client_kwargs(),
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    await consumer.start()
    records = []
    try:
        quiet = 0
        while quiet < 3:
            batch = await consumer.getmany(timeout_ms=700)
            got = [r for rs in batch.values() for r in rs]
            records.extend(got)
            quiet = 0 if got else quiet + 1
    finally:
        await consumer.stop()
    return records


Outcomes = dict[str, list[str]]
"""alert_id -> its records (canonical JSON) in topic order, for alerts that were not
retracted: what the alerts topic means once folded, whatever late evidence did."""


def outcomes(records: list[dict[str, Any]]) -> Outcomes:
    history: dict[str, list[str]] = {}
    for record in records:
        history.setdefault(record["alert_id"], []).append(json.dumps(record, sort_keys=True))
    return {
        alert_id: items
        for alert_id, items in history.items()
        if not any(json.loads(item)["state"] == "retracted" for item in items)
    }


def duplicated(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(alert_id, state) pairs published more than once: each must be exactly once."""
    counts = Counter((r["alert_id"], r["state"]) for r in records)
    return [pair for pair, n in counts.items() if n > 1]


def expected_outcomes(lines: list[bytes], until: int | None = None) -> tuple[Outcomes, int]:
    """What replay says: the outcomes of its history, and how many lines it rejected."""
    result = replay_lines(lines, RuleConfig(), until=until)
    return outcomes([a.to_dict() for a in result.history]), len(result.rejects)


def last_event_at(lines: list[bytes]) -> int:
    events = [e for e in map(decode, lines) if not isinstance(e, Reject)]
    return max(to_us(e.occurred_at) for e in events)


async def published(settings: Settings) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in await read_all(settings, settings.topics.alerts)]


async def finish(settings: Settings, lines: list[bytes]) -> list[dict[str, Any]]:
    """Let the workers drain, tick the clock to the file's end, collect published records."""
    await caught_up(settings, settings.topics.events)
    await send_ticks(settings, last_event_at(lines))
    await caught_up(settings, settings.topics.clock)
    return await published(settings)


class Serve:
    """A serve process with its own log; SIGKILL or SIGTERM it."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log.open("ab")
        self.proc = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self) -> int:
        self.proc.terminate()
        return self.proc.wait(timeout=30)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        self.log.close()
