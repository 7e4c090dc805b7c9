"""Builders for store tests: alert records and episode summaries, and a migrated store."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from custodywatch.contract.alerts import ALERT_ADAPTER, AlertRecord, AlertState
from custodywatch.contract.episodes import EPISODE_ADAPTER, EpisodeSummary
from custodywatch.store.apply import NoHooks, fold_batch
from custodywatch.store.db import migrate, open_engine, sessions, transaction

T0 = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def alert(
    n: int,
    state: AlertState = "raised",
    *,
    suite: str = "perry-barr",
    la: str = "sandwell",
    minutes: int = 0,
    severity: str = "warning",
) -> AlertRecord:
    """Alert number n of custody record CR<n>; raised n minutes after T0 (plus `minutes`)."""
    raised = T0 + timedelta(minutes=n)
    return AlertRecord(
        alert_id=f"CR{n}/six_hours/warning",
        rule="six_hours",
        stage="warning",
        instance=None,
        severity="critical" if severity == "critical" else "warning",
        custody_record_id=f"CR{n}",
        suite_id=suite,
        person_ref=f"P{n}",
        home_local_authority=la,
        due_at=iso(raised),
        raised_at=iso(raised),
        summary=f"{state}: CR{n}",
        state=state,
        state_at=iso(raised + timedelta(minutes=minutes)),
        evidence_event_id=None if state == "raised" else f"E{n}-{state}",
    )


def alert_bytes(record: AlertRecord) -> bytes:
    return ALERT_ADAPTER.dump_json(record)


def episode(n: int, *, updated_minutes: int = 0, ended: bool = False) -> EpisodeSummary:
    t0 = T0 + timedelta(minutes=n)
    updated = t0 + timedelta(minutes=updated_minutes)
    return EpisodeSummary(
        custody_record_id=f"CR{n}",
        person_ref=f"P{n}",
        suite_id="perry-barr",
        suites=(),
        home_local_authority="sandwell",
        juvenile=True,
        age_at_t0=15,
        age_band="14-15",
        sex=None,
        looked_after_child=None,
        arrest_basis="new_offence",
        offence_category="theft",
        arrested_at=iso(t0),
        arrived_at=iso(t0),
        detention_authorised_at=iso(t0),
        appropriate_adult_requested_at=None,
        appropriate_adult_arrived_at=None,
        reviews=(),
        charged_at=None,
        bail_refused_at=None,
        la_requests=(),
        la_responses=(),
        transfer_impracticable_at=None,
        transferred_to_la_at=None,
        transferred_to_la=None,
        nights=(),
        ended_at=iso(updated) if ended else None,
        end="released" if ended else None,
        disposal=None,
        next_deadline=None,
        updated_at=iso(updated),
    )


def episode_bytes(summary: EpisodeSummary) -> bytes:
    return EPISODE_ADAPTER.dump_json(summary)


def migrated(url: str) -> Engine:
    engine = open_engine(url)
    migrate(engine)
    return engine


@contextmanager
def session_of(engine: Engine) -> Iterator[Session]:
    with transaction(sessions(engine)) as session:
        yield session


def fold_records(
    engine: Engine,
    history: Sequence[AlertRecord],
    summaries: Sequence[EpisodeSummary],
    batch: int = 2000,
) -> None:
    """Fold alert records and episode summaries into the store as `serve` folds its topics
    (the same batches, no Kafka): what the store holds after the worker published them."""
    for start in range(0, max(len(history), len(summaries)), batch):
        alert_part = history[start : start + batch]
        episode_part = summaries[start : start + batch]
        with session_of(engine) as session:
            fold_batch(
                session,
                [(r.alert_id, alert_bytes(r)) for r in alert_part],
                [(s.custody_record_id, episode_bytes(s)) for s in episode_part],
                NoHooks(),
            )


def kafka_routing(path: Path, topic: str = "custody.notifications.v1") -> str:
    """A routing file whose every recipient is the Kafka notifications topic (no secrets)."""
    from custodywatch.sim.routing import force_routing

    routing = force_routing(lambda _: [{"type": "kafka", "topic": topic}])
    path.write_text(json.dumps(routing))  # JSON is YAML
    return str(path)
