"""Alerts a sergeant can trust, on the real broker: no false, lost or stale alerts across
outages, backlogs, late events and bad clocks; corrections (resolved, retracted) once each.

Every scenario runs as it is, with a worker SIGKILLed part-way, and with a second
worker joining part-way (partitions move mid-stream).
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from workers import (
    WorkerProcess,
    caught_up,
    duplicated,
    expected_outcomes,
    finish,
    last_event_at,
    outcomes,
    published,
    read_all,
    start,
    wait_for_progress,
)

from custodywatch.config import Settings
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig
from custodywatch.replay import replay_lines
from custodywatch.stream.changelog import ensure_topics
from custodywatch.stream.publisher import publish_lines, send_ticks

pytestmark = pytest.mark.kafka

DISRUPTIONS = ["steady", "sigkill", "second_worker"]


class Episodes:
    """Custody events of many children, as a custody system would produce them."""

    def __init__(self) -> None:
        self.events: list[tuple[datetime, dict[str, Any]]] = []

    def add(
        self, record: str, kind: str, at: datetime, suite: str = "perry-barr", **payload: Any
    ) -> None:
        event = {
            "schema_version": 1,
            "event_id": f"{record}-{kind}-{uuid.uuid4().hex[:12]}",
            "event_type": kind,
            "custody_record_id": record,
            "suite_id": suite,
            "occurred_at": at.isoformat(),
            "payload": payload,
        }
        self.events.append((at, event))

    def open(self, record: str, t0: datetime, arrest_basis: str = "new_offence") -> None:
        detainee = {"person_ref": f"P-{record}", "appears_under_18": True}
        self.add(
            record,
            "detention_authorised",
            t0,
            detainee=detainee,
            arrested_at=(t0 - timedelta(minutes=40)).isoformat(),
            arrived_at=(t0 - timedelta(minutes=10)).isoformat(),
            arrest_basis=arrest_basis,
            offence_category="theft",
            home_local_authority="sandwell",
        )

    def lines(self) -> list[bytes]:
        """In occurred_at order (ties in the order added), one JSON object per line."""
        ordered = sorted(enumerate(self.events), key=lambda item: (item[1][0], item[0]))
        return [json.dumps(e, separators=(",", ":")).encode() for _, (_, e) in ordered]


async def disrupt(
    how: str, settings: Settings, workers: list[WorkerProcess], tmp_path: Path, mode: str
) -> None:
    """Part-way through the stream: nothing, SIGKILL and restart, or a second worker."""
    if how == "steady":
        return
    await wait_for_progress(settings, at_least=1)
    if how == "sigkill":
        workers[-1].kill()
        await asyncio.sleep(1)
    start(settings, workers, tmp_path, clock_mode=mode)


async def settle_live(settings: Settings, quiet_s: float = 4.0) -> list[dict[str, Any]]:
    await caught_up(settings, settings.topics.events)
    await asyncio.sleep(quiet_s)  # wall-clock firing happens after the catch-up
    return await published(settings)


# --- live mode: a restart with a backlog ---------------------------------------------------------


@pytest.mark.parametrize("disruption", DISRUPTIONS)
async def test_live_restart_after_an_outage_raises_nothing_the_backlog_cancels(
    settings: Settings, workers: list[WorkerProcess], tmp_path: Path, disruption: str
) -> None:
    """3,000 children detained about seven hours ago, all released at 5h59m, every event
    already on the topic (15,000: many poll batches) when the worker comes back."""
    now = datetime.now(UTC)
    stream = Episodes()
    for i in range(3000):
        record, t0 = f"C{i}", now - timedelta(hours=7, seconds=i)
        stream.open(record, t0)
        stream.add(record, "appropriate_adult_requested", t0 + timedelta(minutes=10))
        stream.add(record, "appropriate_adult_arrived", t0 + timedelta(minutes=40))
        stream.add(record, "detention_reviewed", t0 + timedelta(hours=5, minutes=30))
        stream.add(record, "released", t0 + timedelta(hours=5, minutes=59), disposal="bail")
    lines = stream.lines()
    await ensure_topics(settings)
    await publish_lines(settings, lines)
    restarted = datetime.now(UTC)
    start(settings, workers, tmp_path, clock_mode="wall")
    await disrupt(disruption, settings, workers, tmp_path, "wall")
    records = await settle_live(settings)

    assert [r for r in records if r["state"] == "retracted"] == [], "a false alert was raised"
    assert duplicated(records) == []
    replayed = replay_lines(lines, RuleConfig(), until=to_us(datetime.now(UTC)))
    assert {(r["alert_id"], r["state"]) for r in records} == {
        (a.alert_id, a.state) for a in replayed.history
    }
    breaches = [r for r in records if r["stage"] == "breach"]
    assert breaches == [], "every child was released before six hours"
    # Raised honestly: when the worker raised them, not back-dated to the due time.
    assert all(datetime.fromisoformat(r["raised_at"]) >= restarted for r in records)
    assert len(records) >= 6000  # each child's five-hour warning, raised then resolved


# --- event time: a backfill published before any worker runs -------------------------------------


def boundary_rich(count: int, seed: int, start_at: datetime) -> Episodes:
    """Children whose cancelling events land just before, exactly at, or just after the
    due times, so a deadline fired a moment early or late shows up as a difference."""
    rng = random.Random(seed)
    stream = Episodes()
    nudge = [timedelta(seconds=-1), timedelta(0), timedelta(seconds=1)]
    for i in range(count):
        record, t0 = f"B{i}", start_at + timedelta(seconds=97 * i)
        stream.open(record, t0, arrest_basis=rng.choice(["new_offence", "warrant"]))
        requested = t0 + timedelta(hours=1) + rng.choice(nudge)
        stream.add(record, "appropriate_adult_requested", requested)
        stream.add(
            record, "appropriate_adult_arrived", requested + timedelta(hours=3) + rng.choice(nudge)
        )
        stream.add(record, "detention_reviewed", t0 + timedelta(hours=6) + rng.choice(nudge))
        end = t0 + rng.choice(
            [timedelta(hours=6) + n for n in nudge] + [timedelta(hours=12), timedelta(hours=30)]
        )
        if rng.random() < 0.4:
            charged = t0 + timedelta(hours=3)
            stream.add(record, "charged", charged, offences=["theft"])
            stream.add(record, "bail_refused", charged + timedelta(minutes=5))
            stream.add(
                record,
                "la_accommodation_requested",
                charged + timedelta(hours=1, minutes=5) + rng.choice(nudge),
                local_authority="sandwell",
                accommodation_type="non_secure",
            )
        stream.add(record, "released", end, disposal="bail")
    return stream


@pytest.mark.parametrize("disruption", DISRUPTIONS)
async def test_event_time_backfill_published_before_the_worker_starts_equals_replay(
    settings: Settings, workers: list[WorkerProcess], tmp_path: Path, disruption: str
) -> None:
    lines = boundary_rich(1500, seed=7, start_at=datetime(2026, 1, 5, 9, tzinfo=UTC)).lines()
    await ensure_topics(settings)
    await publish_lines(settings, lines)
    until = last_event_at(lines) + 3_600_000_000
    await send_ticks(settings, until)  # on the clock topic before any worker has read a thing
    start(settings, workers, tmp_path)
    await disrupt(disruption, settings, workers, tmp_path, "event")
    await caught_up(settings, settings.topics.events)
    await caught_up(settings, settings.topics.clock)
    records = await published(settings)

    expected, _ = expected_outcomes(lines, until=until)
    assert len(expected) > 3000
    assert outcomes(records) == expected
    assert duplicated(records) == []


# --- a far-future orphan ---------------------------------------------------------------------------


@pytest.mark.parametrize("disruption", DISRUPTIONS)
async def test_a_far_future_orphan_changes_no_alert(
    settings: Settings,
    long_stream: list[bytes],
    workers: list[WorkerProcess],
    tmp_path: Path,
    disruption: str,
) -> None:
    future = datetime.fromtimestamp(last_event_at(long_stream) / 1e6, UTC) + timedelta(days=180)
    orphans = []
    for p in range(8):  # a few, so every partition very likely gets one
        stream = Episodes()
        stream.add(f"NEVER-OPENED-{p}", "charged", future, offences=["theft"])
        orphans += stream.lines()
    cut = len(long_stream) // 3
    lines = [*long_stream[:cut], *orphans, *long_stream[cut:]]
    await ensure_topics(settings)
    start(settings, workers, tmp_path)
    await publish_lines(settings, lines)
    await disrupt(disruption, settings, workers, tmp_path, "event")
    records = await finish(settings, lines)

    expected, _ = expected_outcomes(long_stream)  # as if the orphans had never been sent
    assert outcomes(records) == expected
    assert duplicated(records) == []


# --- a release recorded late, or after the due time ----------------------------------------------


@pytest.fixture
def one_partition(settings: Settings) -> Iterator[Settings]:
    # Its opening events are sent six hours after they occurred, a backdated upload: a
    # short hold keeps the test's timing (the hold itself: test_worker_upload.py).
    yield settings.model_copy(update={"partitions": 1, "upload_quiet_s": 1.0})


@pytest.mark.parametrize("disruption", DISRUPTIONS)
@pytest.mark.parametrize(
    ("released_after", "breach_becomes"),
    [(timedelta(hours=5, minutes=58), "retracted"), (timedelta(hours=6, seconds=3), "resolved")],
    ids=["recorded_late", "after_due"],
)
async def test_a_release_settles_the_breach_exactly_once(
    one_partition: Settings,
    workers: list[WorkerProcess],
    tmp_path: Path,
    released_after: timedelta,
    breach_becomes: str,
    disruption: str,
) -> None:
    live = one_partition
    await ensure_topics(live)
    start(live, workers, tmp_path, clock_mode="wall")
    t0 = datetime.now(UTC) - timedelta(hours=6) + timedelta(seconds=6)  # breach due in 6 s
    stream = Episodes()
    stream.open("LATE", t0)
    stream.add("LATE", "appropriate_adult_requested", t0 + timedelta(minutes=10))
    stream.add("LATE", "appropriate_adult_arrived", t0 + timedelta(minutes=30))
    await publish_lines(live, stream.lines())
    breach = "LATE/detention_duration/breach"
    await _wait_for(live, breach, "raised")

    if disruption == "sigkill":  # down while the release comes in
        workers[-1].kill()
    elif disruption == "second_worker":
        start(live, workers, tmp_path, clock_mode="wall")
    wait = t0 + released_after - datetime.now(UTC)
    await asyncio.sleep(max(wait.total_seconds(), 0))  # never an event from the future
    release = Episodes()
    release.add("LATE", "released", t0 + released_after, disposal="bail")
    await publish_lines(live, release.lines())
    if disruption == "sigkill":
        start(live, workers, tmp_path, clock_mode="wall")
    settled = await _wait_for(live, breach, breach_becomes)
    await asyncio.sleep(2)  # anything published twice would be there by now
    records = await published(live)

    assert duplicated(records) == []
    assert [r["state"] for r in records if r["alert_id"] == breach] == ["raised", breach_becomes]
    assert settled["evidence_event_id"] == json.loads(release.lines()[0])["event_id"]
    if breach_becomes == "retracted":
        assert settled["summary"].startswith("Retracted: released at ")
        assert "recorded" in settled["summary"]
    else:
        assert settled["summary"].startswith("Resolved: released at ")
    states = {(r["alert_id"], r["state"]) for r in records}
    assert ("LATE/detention_duration/approaching", "resolved") in states  # it was true


async def _wait_for(
    settings: Settings, alert_id: str, state: str, within_s: float = 60
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + within_s
    seen: list[tuple[str, str]] = []
    while asyncio.get_running_loop().time() < deadline:
        records = await published(settings)
        for record in records:
            if record["alert_id"] == alert_id and record["state"] == state:
                return record
        seen = [(r["alert_id"], r["state"]) for r in records]
        await asyncio.sleep(0.5)
    dead = [dict(r.headers) for r in await read_all(settings, settings.topics.dead_letter)]
    raise AssertionError(f"no {state} record for {alert_id} within {within_s} s: {seen}, {dead}")
