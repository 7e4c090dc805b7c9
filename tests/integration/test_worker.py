"""The streaming worker on a real broker equals replay, through SIGKILL and rebalance."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from workers import (
    WorkerProcess,
    committed_total,
    duplicated,
    expected_outcomes,
    finish,
    outcomes,
    published,
    read_all,
    start,
    wait_for_progress,
)

from custodywatch.config import Settings
from custodywatch.stream.changelog import ensure_topics
from custodywatch.stream.publisher import publish_lines

pytestmark = pytest.mark.kafka


async def test_worker_publishes_exactly_what_replay_produces(
    settings: Settings, stream_lines: list[bytes], workers: list[WorkerProcess], tmp_path: Path
) -> None:
    await ensure_topics(settings)
    start(settings, workers, tmp_path)
    await publish_lines(settings, stream_lines)
    records = await finish(settings, stream_lines)
    expected, _ = expected_outcomes(stream_lines)
    assert len(expected) > 50, "the stream should raise a fair number of alerts"
    assert outcomes(records) == expected
    assert duplicated(records) == []


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
    records = await finish(settings, long_stream)
    expected, _ = expected_outcomes(long_stream)
    assert outcomes(records) == expected
    assert duplicated(records) == []


async def test_two_workers_with_a_rebalance_in_the_middle(
    settings: Settings, long_stream: list[bytes], workers: list[WorkerProcess], tmp_path: Path
) -> None:
    await ensure_topics(settings)
    await publish_lines(settings, long_stream)
    start(settings, workers, tmp_path)
    await wait_for_progress(settings, at_least=1)
    second = start(settings, workers, tmp_path)  # joins the group: partitions move mid-stream
    records = await finish(settings, long_stream)
    expected, _ = expected_outcomes(long_stream)
    assert outcomes(records) == expected
    assert duplicated(records) == []
    second.log.flush()
    assert b"claimed" in (tmp_path / "worker-1.log").read_bytes(), "second worker took partitions"


async def test_worker_processes_share_the_partitions_and_die_with_their_parent(
    settings: Settings, long_stream: list[bytes], workers: list[WorkerProcess], tmp_path: Path
) -> None:
    """`worker --processes 2`: one group of two members; SIGKILL of the parent kills both
    (no orphan consumes on), and a restart then loses and duplicates nothing."""
    await ensure_topics(settings)
    await publish_lines(settings, long_stream)
    first = start(settings, workers, tmp_path, processes=2)
    await wait_for_progress(settings, at_least=1)
    children = children_of(first.proc.pid)
    assert len(children) == 2, children
    first.kill()
    for child in children:
        for _ in range(200):
            if not alive(child):
                break
            await asyncio.sleep(0.05)
        assert not alive(child), f"member {child} outlived its parent"
    done = await committed_total(settings)
    assert 0 < done < len(long_stream), "the kill must land mid-stream"
    second = start(settings, workers, tmp_path, processes=2)
    assert await group_members(settings, wanted=2) == 2
    records = await finish(settings, long_stream)
    expected, _ = expected_outcomes(long_stream)
    assert outcomes(records) == expected
    assert duplicated(records) == []
    second.proc.terminate()
    assert second.proc.wait(timeout=40) == 0
    log = (tmp_path / "worker-1.log").read_text()
    assert "worker 1 of 2 starting" in log and "worker 2 of 2 starting" in log


def children_of(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


async def group_members(settings: Settings, wanted: int, within_s: float = 60) -> int:
    """The members of the worker's group once it has `wanted` (or after `within_s`)."""
    admin = AIOKafkaAdminClient(**settings.kafka.client_kwargs())
    await admin.start()
    try:
        deadline = asyncio.get_running_loop().time() + within_s
        while True:
            (response,) = await admin.describe_consumer_groups([settings.group_id])
            members = len(response.groups[0][5])
            if members >= wanted or asyncio.get_running_loop().time() > deadline:
                return members
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


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
    records = await finish(settings, lines)
    expected, rejected = expected_outcomes(lines)
    assert outcomes(records) == expected  # nothing valid lost around the bad messages

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
    # Both episodes share a partition; A's opening is sent 48 min after it occurred (a
    # backdated upload): a short hold (test_worker_upload.py) keeps the test's timing.
    live = settings.model_copy(update={"partitions": 1, "upload_quiet_s": 1.0})
    await ensure_topics(live)
    start(live, workers, tmp_path, clock_mode="wall")
    now = datetime.now(UTC)
    due = now + timedelta(seconds=12)
    # A: appropriate adult not requested 1h after T0 falls due in 12 s.
    await publish_lines(live, [_opening("A", due - timedelta(hours=1))])
    # B: a producer with a clock an hour fast: refused, and it moves no clock.
    await publish_lines(live, [_opening("B", now + timedelta(hours=1))])
    await asyncio.sleep(4)
    early = await published(live)
    assert not [a for a in early if a["custody_record_id"] == "A"], early
    dead = await read_all(live, live.topics.dead_letter)
    assert [dict(r.headers)["reason"] for r in dead] == [b"future_event"]

    await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 3)
    alerts = await published(live)
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
