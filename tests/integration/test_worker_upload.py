"""Live mode, on the real broker: a custody system back from an outage uploads hours of
backdated events a moment apart. A caught-up worker must not page for a deadline the
rest of the upload cancels, and must raise what still stands once the upload is quiet."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_worker_trust import Episodes
from workers import WorkerProcess, caught_up, duplicated, published, start

from custodywatch.config import Settings
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig
from custodywatch.replay import replay_lines
from custodywatch.stream.changelog import ensure_topics
from custodywatch.stream.publisher import producer_for, record_key

pytestmark = pytest.mark.kafka

CHILDREN = 8
GAP_S = 0.15
"""Between two uploaded events: time for a caught-up worker to fire what is due."""


def upload(now: datetime) -> list[bytes]:
    """Children detained hours ago, in time order as a custody system uploads them: the
    even ones released at 5h59m; the odd ones, detained six and a half hours ago, still
    held (their six-hour breach, half an hour ago, stands and is past the upload's end)."""
    stream = Episodes()
    for i in range(CHILDREN):
        ago = timedelta(hours=7) if i % 2 == 0 else timedelta(hours=6, minutes=30)
        record, t0 = f"U{i}", now - ago - timedelta(minutes=i)
        stream.open(record, t0)
        stream.add(record, "appropriate_adult_requested", t0 + timedelta(minutes=10))
        stream.add(record, "appropriate_adult_arrived", t0 + timedelta(minutes=40))
        stream.add(record, "detention_reviewed", t0 + timedelta(hours=5, minutes=30))
        if i % 2 == 0:
            stream.add(record, "released", t0 + timedelta(hours=5, minutes=59), disposal="bail")
    return stream.lines()


async def send_paced(settings: Settings, lines: list[bytes]) -> datetime:
    """Send the lines GAP_S apart; the time just before the last one was sent."""
    producer = await producer_for(settings)
    try:
        for i, line in enumerate(lines):
            if i:
                await asyncio.sleep(GAP_S)
            last = datetime.now(UTC)
            await producer.send_and_wait(settings.topics.events, key=record_key(line), value=line)
    finally:
        await producer.stop()
    return last


@pytest.mark.parametrize("quiet_s", [3.0, 0.0], ids=["held", "no_hold"])
async def test_a_backdated_upload_pages_only_for_what_stands(
    settings: Settings, workers: list[WorkerProcess], tmp_path: Path, quiet_s: float
) -> None:
    live = settings.model_copy(update={"partitions": 1, "upload_quiet_s": quiet_s})
    await ensure_topics(live)
    start(live, workers, tmp_path, clock_mode="wall")
    await caught_up(live, live.topics.events)
    lines = upload(datetime.now(UTC))
    uploaded = await send_paced(live, lines)
    await caught_up(live, live.topics.events)
    await asyncio.sleep(quiet_s + 3)  # the hold lifts, then the wall clock fires
    records = await published(live)

    assert duplicated(records) == []
    retracted = [r["alert_id"] for r in records if r["state"] == "retracted"]
    if quiet_s == 0:
        # Without the hold the same upload pages and un-pages: the scenario is real.
        assert retracted, "expected the caught-up worker to fire between uploaded events"
        return
    assert retracted == [], "paged for a deadline the rest of the upload cancelled"
    # Exactly what replay of the whole upload says, no more: the odd children's breaches
    # stand, the even ones' warnings were raised and resolved.
    replayed = replay_lines(lines, RuleConfig(), until=to_us(datetime.now(UTC)))
    assert {(r["alert_id"], r["state"]) for r in records} == {
        (a.alert_id, a.state) for a in replayed.history
    }
    standing = {r["alert_id"] for r in records if r["stage"] == "breach"}
    assert standing == {f"U{i}/detention_duration/breach" for i in range(1, CHILDREN, 2)}
    # Due after the upload's latest event, they waited for the quiet: raised honestly.
    for r in records:
        if r["stage"] == "breach":
            assert datetime.fromisoformat(r["raised_at"]) >= uploaded + timedelta(seconds=quiet_s)
