"""Serve's monthly-report pass on a real store (SQLite and PostgreSQL), without Kafka:
what it queues, that a second instance or a second pass queues nothing more, and that
every channel sends the report kept first."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from storekit import episode, episode_bytes, iso, kafka_routing, migrated, session_of

from custodywatch.alerting.clock import EventClock
from custodywatch.alerting.monthly import MonthlyReports, StoredReportFiles
from custodywatch.config import Settings
from custodywatch.contract.notifications import NOTIFICATION_ADAPTER
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig
from custodywatch.lifecycle.routing import Routing, routing_from_yaml
from custodywatch.localkafka import KafkaConnection
from custodywatch.store.apply import NoHooks, fold_batch
from custodywatch.store.schema import monthly_reports, outbox

FIRST = datetime(2026, 2, 14, 10, 0, tzinfo=UTC)  # mid-February: a partial first month


def clock_at(moment: datetime) -> EventClock:
    clock = EventClock(Settings(kafka=KafkaConnection("127.0.0.1:1")))  # never read here
    clock.saw(to_us(moment))
    return clock


def routing(tmp_path: Path) -> Routing:
    return routing_from_yaml(Path(kafka_routing(tmp_path / "routing.yaml")).read_text())


def test_one_pass_queues_every_la_once_and_a_second_instance_adds_nothing(
    database_url: str, tmp_path: Path
) -> None:
    engine = migrated(database_url)
    kid = replace(
        episode(1, ended=True),
        person_ref="PREF-dudley-1",
        home_local_authority="dudley",
        detention_authorised_at=iso(FIRST),
        ended_at=iso(FIRST + timedelta(hours=7)),
        updated_at=iso(FIRST + timedelta(hours=7)),
    )
    ways = routing(tmp_path)
    rules = RuleConfig()
    before = MonthlyReports(
        engine, ways, rules, clock_at(datetime(2026, 2, 28, 23, 59, tzinfo=UTC))
    )
    assert before.pass_once() == 0  # an empty store: nothing, whatever the month
    with session_of(engine) as session:
        fold_batch(session, [], [("test", episode_bytes(kid))], NoHooks())
    assert before.pass_once() == 0  # February has not ended

    march = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    first, second = (MonthlyReports(engine, ways, rules, clock_at(march)) for _ in range(2))
    assert first.pass_once() == len(ways.local_authorities)  # one Kafka channel each
    assert second.pass_once() == 0 and first.pass_once() == 0

    with session_of(engine) as session:
        rows = session.execute(select(outbox.c.idempotency_key, outbox.c.payload)).all()
        kept = session.execute(select(monthly_reports.c.local_authority)).scalars().all()
    assert sorted(k for k, _ in rows) == sorted(f"report:{la}:2026-02" for la in kept)
    assert sorted(kept) == sorted(ways.local_authorities)
    dudley = next(
        NOTIFICATION_ADAPTER.validate_python(p) for k, p in rows if k == "report:dudley:2026-02"
    )
    assert dudley.report is not None and dudley.report.data_from == "2026-02-14"
    assert "The records begin on 14 February 2026" in dudley.text
    assert dudley.report.figures[0].value == "<5"
    assert b"PREF-" not in NOTIFICATION_ADAPTER.dump_json(dudley)

    files = asyncio.run(StoredReportFiles(engine)(dudley))
    assert files is not None
    html, zipped = files
    assert html.filename == "custodywatch-dudley-2026-02.html"
    assert b"home local authority dudley" in html.data and b"February 2026" in html.data
    assert b"PREF-dudley-1" in html.data  # the report lists its longest holds, pseudonymously
    assert zipped.data.startswith(b"PK")
    alert_only = replace(dudley, report=None)
    assert asyncio.run(StoredReportFiles(engine)(alert_only)) is None
