"""The streaming worker on a real broker equals replay, through SIGKILL and rebalance."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from custodywatch.config import Settings, Topics
from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig
from custodywatch.localkafka import KafkaConnection, free_port
from custodywatch.replay import replay_lines
from custodywatch.sim.config import SimConfig
from custodywatch.sim.generator import iter_records
from custodywatch.stream.publisher import publish_lines, send_ticks
from custodywatch.stream.worker import ensure_topics

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(kafka: KafkaConnection) -> Settings:
    run = uuid.uuid4().hex[:8]
    return Settings(
        kafka=kafka, topics=Topics.prefixed(f"t-{run}"), group_id=f"g-{run}", partitions=4
    )


@pytest.fixture(scope="module")
def long_stream() -> list[bytes]:
    """Long enough (~17k events) that a kill lands mid-stream."""
    config = SimConfig(seed=5, months=0.5, detentions=4000, mistake_rate=0.002)
    return [value for _, _, value in iter_records(config)]


@pytest.fixture(scope="module")
def stream_lines() -> list[bytes]:
    """A simulated force: a few hundred detentions, children among them, some producer mistakes."""
    config = SimConfig(seed=11, months=0.1, detentions=400, mistake_rate=0.01)
    return [value for _, _, value in iter_records(config)]


class WorkerProcess:
    """`custodywatch worker` as a real OS process, so it can be SIGKILLed."""

    def __init__(self, settings: Settings, log: Path, clock_mode: str = "event") -> None:
        mine = settings.model_copy(update={"metrics_port": free_port()})
        env = {**os.environ, **mine.to_env()}
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "custodywatch.cli", "worker", "--clock-mode", clock_mode],
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


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()
    for log in tmp_path.glob("worker-*.log"):
        print(log.name, log.read_text()[-3000:])  # shown when a test fails


def start(
    settings: Settings, workers: list[WorkerProcess], tmp_path: Path, clock_mode: str = "event"
) -> WorkerProcess:
    worker = WorkerProcess(settings, tmp_path / f"worker-{len(workers)}.log", clock_mode)
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


def expected_alerts(lines: list[bytes]) -> tuple[Counter[str], int]:
    result = replay_lines(lines, RuleConfig())
    return Counter(json.dumps(a.to_dict(), sort_keys=True) for a in result.alerts), len(
        result.rejects
    )


async def finish(settings: Settings, lines: list[bytes]) -> Counter[str]:
    """Let the workers drain, tick the clock to the file's end, collect published alerts."""
    await caught_up(settings, settings.topics.events)
    events = [e for e in map(decode, lines) if not isinstance(e, Reject)]
    await send_ticks(settings, max(to_us(e.occurred_at) for e in events))
    await caught_up(settings, settings.topics.clock)
    records = await read_all(settings, settings.topics.alerts)
    return Counter(json.dumps(json.loads(r.value), sort_keys=True) for r in records)


async def test_worker_publishes_exactly_what_replay_produces(
    settings: Settings, stream_lines: list[bytes], workers: list[WorkerProcess], tmp_path: Path
) -> None:
    await ensure_topics(settings)
    start(settings, workers, tmp_path)
    await publish_lines(settings, stream_lines)
    published = await finish(settings, stream_lines)
    expected, _ = expected_alerts(stream_lines)
    assert sum(expected.values()) > 50, "the stream should raise a fair number of alerts"
    assert published == expected


async def test_sigkill_mid_stream_loses_nothing_and_duplicates_nothing(
    settings: Settings, long_stream: list[bytes], workers: list[WorkerProcess], tmp_path: Path
) -> None:
    await ensure_topics(settings)
    await publish_lines(settings, long_stream)
    first = start(settings, workers, tmp_path)
    await wait_for_progress(settings, at_least=1)
    first.kill()
    done = await committed_total(settings)
    assert 0 < done < len(long_stream), "the kill must land mid-stream"
    start(settings, workers, tmp_path)
    published = await finish(settings, long_stream)
    expected, _ = expected_alerts(long_stream)
    assert published == expected
    assert max(published.values()) == 1


async def test_two_workers_with_a_rebalance_in_the_middle(
    settings: Settings, long_stream: list[bytes], workers: list[WorkerProcess], tmp_path: Path
) -> None:
    await ensure_topics(settings)
    await publish_lines(settings, long_stream)
    start(settings, workers, tmp_path)
    await wait_for_progress(settings, at_least=1)
    second = start(settings, workers, tmp_path)  # joins the group: partitions move mid-stream
    published = await finish(settings, long_stream)
    expected, _ = expected_alerts(long_stream)
    assert published == expected
    assert max(published.values()) == 1
    second.log.flush()
    assert b"claimed" in (tmp_path / "worker-1.log").read_bytes(), "second worker took partitions"


async def test_malformed_and_orphan_messages_go_to_the_dead_letter_topic(
    settings: Settings, stream_lines: list[bytes], workers: list[WorkerProcess], tmp_path: Path
) -> None:
    bad = [
        b"{not json",
        b'{"schema_version": 1}',
        json.dumps(
            {
                "schema_version": 1,
                "event_id": "orphan-1",
                "event_type": "charged",
                "custody_record_id": "NEVER-OPENED",
                "suite_id": "perry-barr",
                "occurred_at": "2025-04-01T10:00:00+00:00",
                "payload": {},
            }
        ).encode(),
    ]
    lines = bad[:2] + stream_lines[:200] + bad[2:] + stream_lines[200:]
    await ensure_topics(settings)
    start(settings, workers, tmp_path)
    await publish_lines(settings, lines)
    published = await finish(settings, lines)
    expected, rejected = expected_alerts(lines)
    assert published == expected  # nothing valid lost around the bad messages

    dead = await read_all(settings, settings.topics.dead_letter)
    assert len(dead) == rejected
    by_value = {r.value: dict(r.headers) for r in dead}
    for raw, reason in zip(bad, ["invalid_json", "missing_field", "orphan_event"], strict=True):
        headers = by_value[raw]  # the original bytes, unchanged
        assert headers["reason"] == reason.encode()
        assert headers["message"]
        assert int(headers["source_offset"]) >= 0 and int(headers["source_partition"]) >= 0


def _opening(record: str, t0: datetime) -> bytes:
    return json.dumps(
        {
            "schema_version": 1,
            "event_id": f"{record}-0",
            "event_type": "detention_authorised",
            "custody_record_id": record,
            "suite_id": "perry-barr",
            "occurred_at": t0.isoformat(),
            "payload": {
                "detainee": {"person_ref": f"P-{record}", "appears_under_18": True},
                "arrested_at": t0.isoformat(),
                "arrived_at": t0.isoformat(),
                "arrest_basis": "new_offence",
                "offence_category": "theft",
                "home_local_authority": "sandwell",
            },
        }
    ).encode()


async def test_live_worker_fires_on_the_wall_clock_not_on_a_future_timestamp(
    settings: Settings, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    live = settings.model_copy(update={"partitions": 1})  # both episodes share a partition
    await ensure_topics(live)
    start(live, workers, tmp_path, clock_mode="wall")
    now = datetime.now(UTC)
    due = now + timedelta(seconds=12)
    # A: appropriate adult not requested 1h after T0 falls due in 12 s.
    await publish_lines(live, [_opening("A", due - timedelta(hours=1))])
    # B: a producer with a clock an hour fast.
    await publish_lines(live, [_opening("B", now + timedelta(hours=1))])
    await asyncio.sleep(4)
    early = [json.loads(r.value) for r in await read_all(live, live.topics.alerts)]
    assert not [a for a in early if a["custody_record_id"] == "A"], early

    await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 3)
    alerts = [json.loads(r.value) for r in await read_all(live, live.topics.alerts)]
    mine = {a["alert_id"]: a for a in alerts if a["custody_record_id"] == "A"}
    alert = mine["A/appropriate_adult/not_requested"]
    raised = datetime.fromisoformat(alert["raised_at"])
    assert datetime.fromisoformat(alert["due_at"]) <= raised < due + timedelta(seconds=2)


async def test_simulate_to_kafka_sends_every_generated_event(settings: Settings) -> None:
    env = {**os.environ, **settings.to_env()}
    args = ["--seed", "4", "--detentions", "40", "--months", "0.05"]
    command = [sys.executable, "-m", "custodywatch.cli", "simulate", *args]
    to_file = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, check=True
    )
    generated = to_file.stdout.splitlines()
    await asyncio.to_thread(
        subprocess.run, [*command, "--kafka", "--speed", "1e6"], env=env, check=True, timeout=120
    )
    sent = [r.value for r in await read_all(settings, settings.topics.events)]
    assert sorted(sent) == sorted(generated)
    ticks = await read_all(settings, settings.topics.clock)
    assert {json.loads(t.value)["now"] for t in ticks}, "the clock was ticked"
