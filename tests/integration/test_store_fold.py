"""Folding alert and episode records into the store, on SQLite and PostgreSQL (no Kafka)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session
from storekit import alert, alert_bytes, episode, episode_bytes, migrated, session_of

from custodywatch.contract.alerts import AlertRecord, AlertState
from custodywatch.store.apply import (
    BatchResult,
    NoHooks,
    OffsetsMovedError,
    advance_offsets,
    fold_batch,
    load_offsets,
)
from custodywatch.store.db import migrate, open_engine
from custodywatch.store.schema import alert_log, alerts, episodes, metadata


def fold(engine: Any, records: list[AlertRecord], hooks: Any = None) -> BatchResult:
    values = [(f"test@{i}", alert_bytes(r)) for i, r in enumerate(records)]
    with session_of(engine) as session:
        return fold_batch(session, values, [], hooks or NoHooks())


def states(engine: Any) -> dict[str, str]:
    with session_of(engine) as session:
        return {
            str(a): str(s) for a, s in session.execute(select(alerts.c.alert_id, alerts.c.state))
        }


def log_of(engine: Any) -> list[tuple[str, str, str | None]]:
    with session_of(engine) as session:
        rows = session.execute(
            select(
                alert_log.c.alert_id, alert_log.c.kind, alert_log.c.details["evidence_event_id"]
            ).order_by(alert_log.c.id)
        )
        return [(a, k, None if e is None else str(e).strip('"')) for a, k, e in rows]


def test_migrations_apply_on_an_empty_database_and_are_idempotent(database_url: str) -> None:
    engine = migrated(database_url)
    migrate(engine)  # second run: nothing to do, no error
    names = set(inspect(engine).get_table_names())
    assert {
        "episodes",
        "alerts",
        "alert_log",
        "outbox",
        "consumer_offsets",
        "monthly_reports",
    } <= names
    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0002"
        )
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []  # the migration builds schema.py


def test_processes_starting_together_migrate_once(database_url: str) -> None:
    engines = [open_engine(database_url) for _ in range(4)]
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        try:
            migrate(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engines[0].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


def test_times_come_back_aware_utc_and_naive_times_are_refused(database_url: str) -> None:
    engine = migrated(database_url)
    fold(engine, [alert(1)])
    with session_of(engine) as session:
        raised = session.scalar(select(alerts.c.raised_at))
    assert raised == datetime(2026, 3, 1, 18, 1, tzinfo=UTC)
    assert raised is not None and raised.utcoffset() is not None
    with pytest.raises(Exception, match="naive datetime"), session_of(engine) as session:
        session.execute(alerts.update().values(next_step_at=datetime(2026, 1, 1)))


def test_raised_then_resolved_and_raised_then_retracted(database_url: str) -> None:
    engine = migrated(database_url)
    result = fold(engine, [alert(1), alert(2), alert(3)])
    assert result == BatchResult(alert_records=3, duplicates=0, episodes=0, undecodable=0)
    fold(engine, [alert(1, "resolved", minutes=40), alert(2, "retracted", minutes=5)])
    assert states(engine) == {
        "CR1/six_hours/warning": "resolved",
        "CR2/six_hours/warning": "retracted",
        "CR3/six_hours/warning": "raised",
    }
    assert log_of(engine) == [
        ("CR1/six_hours/warning", "raised", None),
        ("CR2/six_hours/warning", "raised", None),
        ("CR3/six_hours/warning", "raised", None),
        ("CR1/six_hours/warning", "resolved", "E1-resolved"),
        ("CR2/six_hours/warning", "retracted", "E2-retracted"),
    ]
    with session_of(engine) as session:
        row = session.execute(
            select(alerts).where(alerts.c.alert_id == "CR1/six_hours/warning")
        ).one()
    assert row.state_at == datetime(2026, 3, 1, 18, 41, tzinfo=UTC)
    assert row.summary == "resolved: CR1"
    assert row.raised_at == datetime(2026, 3, 1, 18, 1, tzinfo=UTC)  # unchanged


def test_redelivered_records_add_nothing(database_url: str) -> None:
    engine = migrated(database_url)
    stream = [alert(1), alert(1, "resolved"), alert(2)]
    fold(engine, stream)
    before = (states(engine), log_of(engine))
    again = fold(engine, [*stream, alert(2), alert(1)])  # all seen, some twice in one batch
    assert again == BatchResult(alert_records=0, duplicates=5, episodes=0, undecodable=0)
    assert (states(engine), log_of(engine)) == before


def test_a_late_raised_never_reopens_and_the_first_end_stands(database_url: str) -> None:
    engine = migrated(database_url)
    # Out of order in one batch and across batches: resolved arrives before its raise.
    fold(engine, [alert(1, "resolved"), alert(1), alert(2)])
    fold(engine, [alert(2, "retracted"), alert(2, "resolved")])
    assert states(engine) == {
        "CR1/six_hours/warning": "resolved",
        "CR2/six_hours/warning": "retracted",
    }
    kinds = [(a[:3], k) for a, k, _ in log_of(engine)]
    assert kinds == [
        ("CR1", "resolved"),
        ("CR1", "raised"),
        ("CR2", "raised"),
        ("CR2", "retracted"),
        ("CR2", "resolved"),
    ]


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None, bool]] = []

    def on_alert(
        self, session: Session, record: AlertRecord, previous_state: AlertState | None
    ) -> None:
        in_transaction = session.in_transaction()
        self.calls.append((record.alert_id[:3], record.state, previous_state, in_transaction))


def test_hooks_see_each_new_record_once_in_order_with_the_state_before_it(
    database_url: str,
) -> None:
    engine = migrated(database_url)
    hooks = Recorder()
    fold(engine, [alert(1), alert(2), alert(1, "resolved")], hooks)
    fold(engine, [alert(1, "resolved"), alert(2, "retracted"), alert(1)], hooks)
    assert hooks.calls == [
        ("CR1", "raised", None, True),
        ("CR2", "raised", None, True),
        ("CR1", "resolved", "raised", True),
        ("CR2", "retracted", "raised", True),
    ]


def test_what_a_failing_hook_wrote_is_rolled_back_with_the_batch(database_url: str) -> None:
    engine = migrated(database_url)

    class Failing:
        def on_alert(
            self, session: Session, record: AlertRecord, previous_state: AlertState | None
        ) -> None:
            raise RuntimeError("lifecycle failed")

    with pytest.raises(RuntimeError):
        fold(engine, [alert(1)], Failing())
    assert states(engine) == {} and log_of(engine) == []


def test_invalid_records_and_tombstones_are_skipped(database_url: str) -> None:
    engine = migrated(database_url)
    with session_of(engine) as session:
        result = fold_batch(
            session,
            [("a@0", b"{not json"), ("a@1", None), ("a@2", alert_bytes(alert(1)))],
            [("e@0", b'{"custody_record_id": "CR9"}'), ("e@1", None)],
            NoHooks(),
        )
    assert result == BatchResult(alert_records=1, duplicates=0, episodes=0, undecodable=2)


def test_episodes_keep_the_latest_summary(database_url: str) -> None:
    engine = migrated(database_url)
    with session_of(engine) as session:
        fold_batch(
            session,
            [],
            [
                ("e@0", episode_bytes(episode(1))),
                ("e@1", episode_bytes(episode(1, updated_minutes=30))),
            ],
            NoHooks(),
        )
    with session_of(engine) as session:
        fold_batch(
            session,
            [],
            [
                ("e@2", episode_bytes(episode(1, updated_minutes=10))),  # older: ignored
                ("e@3", episode_bytes(episode(2, updated_minutes=90, ended=True))),
            ],
            NoHooks(),
        )
    with session_of(engine) as session:
        rows = {r.custody_record_id: r for r in session.execute(select(episodes))}
    assert rows["CR1"].updated_at == datetime(2026, 3, 1, 18, 31, tzinfo=UTC)
    assert rows["CR1"].summary["updated_at"] == "2026-03-01T18:31:00Z"
    assert rows["CR1"].ended_at is None and rows["CR1"].juvenile is True
    assert rows["CR2"].ended_at == datetime(2026, 3, 1, 19, 32, tzinfo=UTC)
    assert rows["CR2"].t0 == datetime(2026, 3, 1, 18, 2, tzinfo=UTC)


def test_offsets_move_by_compare_and_set(database_url: str) -> None:
    engine = migrated(database_url)
    with session_of(engine) as session:
        advance_offsets(session, "g", {}, {("alerts", 0): 10, ("alerts", 1): 3})
    with session_of(engine) as session:
        advance_offsets(session, "g", {("alerts", 0): 10}, {("alerts", 0): 25})
    with session_of(engine) as session:
        assert load_offsets(session, "g", ["alerts"]) == {("alerts", 0): 25, ("alerts", 1): 3}
        assert load_offsets(session, "other", ["alerts"]) == {}
    # A second fold that still believes 10 (or nothing) was committed loses.
    with pytest.raises(OffsetsMovedError), session_of(engine) as session:
        advance_offsets(session, "g", {("alerts", 0): 10}, {("alerts", 0): 20})
    with pytest.raises(OffsetsMovedError), session_of(engine) as session:
        advance_offsets(session, "g", {}, {("alerts", 1): 9})
    with session_of(engine) as session:
        assert load_offsets(session, "g", ["alerts"]) == {("alerts", 0): 25, ("alerts", 1): 3}
