"""The report's inputs from the store: episode summaries, alerts, and what people did;
and the history a what-if replays (`history_from_store`).

The store holds what the worker published (the same summaries and alert
records as replay gives for the same events) plus acknowledgements and the
escalation steps reached, which only the store knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Engine, Text, cast, func, select

from custodywatch.contract.alerts import AlertRecord
from custodywatch.contract.episodes import EPISODE_ADAPTER, EpisodeSummary
from custodywatch.report.facts import AlertOutcome
from custodywatch.store.db import guarded, sessions, transaction
from custodywatch.store.schema import alerts, episodes

# A margin each side of the period: periods are local dates, the store keeps UTC.
_MARGIN = timedelta(days=1)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    low = None if start is None else datetime.combine(start, time.min).astimezone() - _MARGIN
    high = None if end is None else datetime.combine(end, time.max).astimezone() + _MARGIN
    return low, high


@dataclass(frozen=True, slots=True)
class History:
    """What a what-if replays from the store."""

    summaries: list[EpisodeSummary]
    """The episodes whose T0 is around the period (all of them without one)."""
    clock: datetime | None
    """How far the store's history reaches: its latest event (an episode's `updated_at`)
    or alert due time, whichever is later; None for an empty store. A replay of the
    rebuilt events ends there, as a replay of the events file ends at its last event."""


def history_from_store(engine: Engine, start: date | None, end: date | None) -> History:
    """The episode summaries a what-if over [start, end] needs (None: unbounded)."""
    low, high = _bounds(start, end)

    def read() -> History:
        with transaction(sessions(engine)) as session:
            # The summary as JSON text: pydantic parses and validates it in one pass.
            query = select(cast(episodes.c.summary, Text).label("summary"))
            if low is not None:
                query = query.where(episodes.c.t0 >= low)
            if high is not None:
                query = query.where(episodes.c.t0 <= high)
            rows = session.execute(query).scalars()
            summaries = [EPISODE_ADAPTER.validate_json(text) for text in rows]
            latest = session.execute(select(func.max(episodes.c.updated_at))).scalar()
            due = session.execute(select(func.max(alerts.c.due_at))).scalar()
            known = [t for t in (latest, due) if t is not None]
            return History(summaries, max(known) if known else None)

    return guarded(engine, read)


def from_store(
    engine: Engine, start: date, end: date
) -> tuple[list[EpisodeSummary], list[AlertRecord], list[AlertOutcome]]:
    """Episodes authorised around [start, end] and their alerts (the report picks exactly)."""
    low, high = _bounds(start, end)

    def read() -> tuple[list[EpisodeSummary], list[AlertRecord], list[AlertOutcome]]:
        with transaction(sessions(engine)) as session:
            rows = session.execute(
                select(episodes.c.summary).where(episodes.c.t0 >= low, episodes.c.t0 <= high)
            )
            summaries = [EPISODE_ADAPTER.validate_python(r.summary) for r in rows]
            records = {s.custody_record_id for s in summaries}
            found: list[AlertRecord] = []
            outcomes: list[AlertOutcome] = []
            for row in session.execute(select(alerts)):
                if row.custody_record_id not in records:
                    continue
                found.append(
                    AlertRecord(
                        alert_id=row.alert_id,
                        rule=row.rule,
                        stage=row.stage,
                        instance=row.instance,
                        severity=row.severity,
                        custody_record_id=row.custody_record_id,
                        suite_id=row.suite_id,
                        person_ref=row.person_ref,
                        home_local_authority=row.home_local_authority,
                        due_at=_iso(row.due_at),
                        raised_at=_iso(row.raised_at),
                        summary=row.summary,
                        state=row.state,
                        state_at=_iso(row.state_at),
                        evidence_event_id=None,
                    )
                )
                outcomes.append(
                    AlertOutcome(row.alert_id, row.raised_at, row.ack_at, row.escalation_step or 0)
                )
            return summaries, found, outcomes

    return guarded(engine, read)
