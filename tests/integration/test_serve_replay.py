"""The store that `custodywatch serve` keeps holds exactly what replay computes.

A simulated month (a few thousand detentions, producer mistakes included) goes
through the event-time worker on the real broker and `serve` folds the alerts
and episodes topics into a real database. Afterwards every alert's row (state,
times, rule, who it is about) and every episode's summary equal what
`replay_summaries` gives for the same file, and the log holds each alert
state once.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from storekit import kafka_routing, migrated, session_of
from test_serve import ServeProcess
from workers import WorkerProcess, finish, start

from custodywatch.config import Settings
from custodywatch.contract.alerts import AlertRecord
from custodywatch.contract.episodes import EPISODE_ADAPTER
from custodywatch.core.config import RuleConfig
from custodywatch.replay import replay_summaries
from custodywatch.sim.config import SimConfig
from custodywatch.sim.records import iter_records
from custodywatch.store.schema import alert_log, alerts, episodes
from custodywatch.stream.changelog import ensure_topics
from custodywatch.stream.publisher import publish_lines

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="session")]

MONTH = SimConfig(seed=23, months=1, detentions=2500, mistake_rate=0.002)
FOLDED = ("raised", "resolved", "retracted")


@pytest.fixture(scope="module")
def month() -> list[bytes]:
    return [value for _, _, value in iter_records(MONTH)]


def row_of(record: AlertRecord) -> dict[str, Any]:
    """An alert as the store's row shows it."""
    return {
        "rule": record.rule,
        "stage": record.stage,
        "instance": record.instance,
        "severity": record.severity,
        "custody_record_id": record.custody_record_id,
        "person_ref": record.person_ref,
        "suite_id": record.suite_id,
        "home_local_authority": record.home_local_authority,
        "due_at": datetime.fromisoformat(record.due_at),
        "raised_at": datetime.fromisoformat(record.raised_at),
    }


def replayed(lines: list[bytes]) -> tuple[dict[str, Any], Counter[tuple[str, str]], dict[str, Any]]:
    """Replay's history folded as the store folds it: alert rows, log states, summaries."""
    result, summaries = replay_summaries(lines, RuleConfig())
    rows: dict[str, Any] = {}
    for record in result.history:
        row = rows.get(record.alert_id)
        if row is None or (row["state"] == "raised" and record.state != "raised"):
            state_at = datetime.fromisoformat(record.state_at)
            rows[record.alert_id] = {**row_of(record), "state": record.state, "state_at": state_at}
    log: Counter[tuple[str, str]] = Counter((r.alert_id, str(r.state)) for r in result.history)
    episode_json = {
        s.custody_record_id: EPISODE_ADAPTER.dump_python(s, mode="json") for s in summaries
    }
    return rows, log, episode_json


def stored(engine: Engine) -> tuple[dict[str, Any], Counter[tuple[str, str]], dict[str, Any]]:
    with session_of(engine) as session:
        rows = {
            r.alert_id: {
                **{k: getattr(r, k) for k in ("rule", "stage", "instance", "severity")},
                **{k: getattr(r, k) for k in ("custody_record_id", "person_ref", "suite_id")},
                "home_local_authority": r.home_local_authority,
                "due_at": r.due_at,
                "raised_at": r.raised_at,
                "state": r.state,
                "state_at": r.state_at,
            }
            for r in session.execute(select(alerts))
        }
        log = Counter(
            (a, k)
            for a, k in session.execute(
                select(alert_log.c.alert_id, alert_log.c.kind).where(alert_log.c.kind.in_(FOLDED))
            )
        )
        summaries = dict(
            session.execute(select(episodes.c.custody_record_id, episodes.c.summary)).all()
        )
    return rows, log, summaries


async def settled(engine: Engine, want: tuple[Any, ...], within_s: float = 240) -> None:
    """Until the store equals `want` (or time runs out), then a little longer: anything
    folded late or twice would show by then."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if stored(engine) == want:
            break
        await asyncio.sleep(1)
    await asyncio.sleep(2)


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
async def test_the_store_holds_what_replay_computes_for_a_month(
    settings: Settings,
    workers: list[WorkerProcess],
    month: list[bytes],
    tmp_path: Path,
    engine_name: str,
    request: pytest.FixtureRequest,
) -> None:
    if engine_name == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database(f"replay_{settings.group_id}")
    engine = migrated(url)
    want = replayed(month)
    rows, log, summaries = want
    assert len(rows) > 100 and len(summaries) == MONTH.n_detentions  # a month worth checking
    assert {"resolved", "retracted"} <= {r["state"] for r in rows.values()}

    env = {
        **os.environ,
        **settings.to_env(),
        "CUSTODYWATCH_DATABASE_URL": url,
        "CUSTODYWATCH_ROUTING": kafka_routing(tmp_path / "routing.yaml"),
        "CUSTODYWATCH_SERVE_METRICS_PORT": "0",
    }
    await ensure_topics(settings)
    start(settings, workers, tmp_path)
    serve = ServeProcess(env, tmp_path / "serve.log")
    try:
        await publish_lines(settings, month)
        await finish(settings, month)
        await settled(engine, want)
        got_rows, got_log, got_summaries = stored(engine)
    finally:
        serve.stop()
        print((tmp_path / "serve.log").read_text()[-3000:])  # shown when the test fails

    missing = sorted(rows.keys() - got_rows.keys())[:5]
    extra = sorted(got_rows.keys() - rows.keys())[:5]
    assert not missing and not extra, (missing, extra)
    differ = [a for a in rows if rows[a] != got_rows[a]][:3]
    assert not differ, [(rows[a], got_rows[a]) for a in differ]
    assert got_log == log  # each state of each alert logged once
    assert got_summaries.keys() == summaries.keys()
    changed = [r for r in summaries if summaries[r] != got_summaries[r]][:3]
    assert not changed, [(summaries[r], got_summaries[r]) for r in changed]
