"""Fold one consumed batch into a session: alert states, their log, episodes.

No Kafka here: `fold.py` calls `fold_batch` and `advance_offsets` inside ONE
database transaction, so the rows and the offsets they came from commit
together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError
from sqlalchemy import Table, and_, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custodywatch.contract.alerts import ALERT_ADAPTER, AlertRecord, AlertState
from custodywatch.contract.episodes import EPISODE_ADAPTER, EpisodeSummary
from custodywatch.store.db import dialect_insert
from custodywatch.store.schema import alert_log, alerts, consumer_offsets, episodes

log = logging.getLogger("custodywatch.store")

# Parameters per IN (...) list: well under SQLite's and PostgreSQL's limits.
CHUNK = 500

T = TypeVar("T")

# raised -> resolved | retracted; an end state is final (a late `raised` does not reopen).
_FINAL: frozenset[str] = frozenset({"resolved", "retracted"})


class FoldHooks(Protocol):
    """Called inside the fold's transaction (the lifecycle core plugs in here).

    `on_alert` runs once per alert record that is new to the store, in the
    order the records were consumed, after the batch's alert and log rows are
    written: the alert row already shows the state after the whole batch, so
    decide from `record` and `previous_state` (the stored state before this
    record, None for an alert not seen before). Whatever it writes with
    `session` commits with the batch and its offsets, or not at all.
    """

    def on_alert(
        self, session: Session, record: AlertRecord, previous_state: AlertState | None
    ) -> None: ...


class NoHooks:
    def on_alert(
        self, session: Session, record: AlertRecord, previous_state: AlertState | None
    ) -> None:
        return None


@dataclass(frozen=True)
class BatchResult:
    alert_records: int
    """Alert records new to the store (each wrote one log entry)."""
    duplicates: int
    """Alert records already folded (same alert, same state), ignored."""
    episodes: int
    """Episodes upserted: the newest summary of each in the batch, never over a newer one."""
    undecodable: int
    """Records that were not a valid alert / episode (logged by offset, skipped)."""


def log_key(alert_id: str, kind: str) -> str:
    """The dedup key of an alert's state entry: one `raised`, at most one end."""
    return f"{alert_id}/{kind}"


def fold_batch(
    session: Session,
    alert_values: Sequence[tuple[str, bytes | None]],
    episode_values: Sequence[tuple[str, bytes | None]],
    hooks: FoldHooks,
) -> BatchResult:
    """Fold records given as (where, value): `where` names topic/partition/offset for logs."""
    records, bad = _decode(alert_values, ALERT_ADAPTER.validate_json)
    summaries, bad_episodes = _decode(episode_values, EPISODE_ADAPTER.validate_json)
    new, duplicates = _fold_alerts(session, records)
    for record, previous in new:
        hooks.on_alert(session, record, previous)
    changed = _fold_episodes(session, summaries)
    return BatchResult(len(new), duplicates, changed, bad + bad_episodes)


def _decode(values: Sequence[tuple[str, bytes | None]], validate: Any) -> tuple[list[Any], int]:
    decoded: list[Any] = []
    bad = 0
    for where, value in values:
        if value is None:
            continue  # a tombstone on a compacted topic: nothing to fold
        try:
            decoded.append(validate(value))
        except ValidationError as exc:
            bad += 1
            log.warning("skipping invalid record at %s: %d errors", where, exc.error_count())
    return decoded, bad


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _fold_alerts(
    session: Session, records: list[AlertRecord]
) -> tuple[list[tuple[AlertRecord, AlertState | None]], int]:
    if not records:
        return [], 0
    ids = list({r.alert_id for r in records})
    states: dict[str, AlertState] = {}
    for chunk in _chunks(ids):
        query = select(alerts.c.alert_id, alerts.c.state).where(alerts.c.alert_id.in_(chunk))
        for alert_id, state in session.execute(query):
            states[alert_id] = state
    keys = list({log_key(r.alert_id, r.state) for r in records})
    logged: set[str] = set()
    for chunk in _chunks(keys):
        logged.update(
            session.scalars(select(alert_log.c.dedup_key).where(alert_log.c.dedup_key.in_(chunk)))
        )

    inserts: dict[str, dict[str, Any]] = {}
    updates: dict[str, dict[str, Any]] = {}
    entries: list[dict[str, Any]] = []
    new: list[tuple[AlertRecord, AlertState | None]] = []
    duplicates = 0
    for record in records:
        key = log_key(record.alert_id, record.state)
        if key in logged:
            duplicates += 1
            continue
        logged.add(key)
        previous = states.get(record.alert_id)
        new.append((record, previous))
        entries.append(_log_entry(record, key))
        if previous is None:
            inserts[record.alert_id] = _alert_row(record)
        elif previous not in _FINAL and record.state in _FINAL:
            change = {
                "state": record.state,
                "state_at": _time(record.state_at),
                "summary": record.summary,
            }
            target = inserts.get(record.alert_id)
            if target is None:
                updates[record.alert_id] = {"b_alert_id": record.alert_id, **change}
            else:
                target.update(change)
        else:
            continue  # a late `raised`, or a second end: logged, the state stands
        states[record.alert_id] = record.state

    if inserts:
        session.execute(insert(alerts), list(inserts.values()))
    if updates:
        session.execute(
            update(alerts)
            .where(alerts.c.alert_id == bindparam("b_alert_id"))
            .values(
                state=bindparam("state"),
                state_at=bindparam("state_at"),
                summary=bindparam("summary"),
            ),
            list(updates.values()),
            execution_options={"synchronize_session": False},
        )
    if entries:
        session.execute(insert(alert_log), entries)
    return new, duplicates


def _alert_row(record: AlertRecord) -> dict[str, Any]:
    return {
        "alert_id": record.alert_id,
        "rule": record.rule,
        "stage": record.stage,
        "instance": record.instance,
        "severity": record.severity,
        "state": record.state,
        "custody_record_id": record.custody_record_id,
        "person_ref": record.person_ref,
        "suite_id": record.suite_id,
        "home_local_authority": record.home_local_authority,
        "due_at": _time(record.due_at),
        "raised_at": _time(record.raised_at),
        "state_at": _time(record.state_at),
        "summary": record.summary,
    }


def _log_entry(record: AlertRecord, key: str) -> dict[str, Any]:
    details: dict[str, Any] = {"summary": record.summary, "raised_at": record.raised_at}
    if record.evidence_event_id is not None:
        details["evidence_event_id"] = record.evidence_event_id
    return {
        "alert_id": record.alert_id,
        "kind": record.state,
        "at": _time(record.state_at),
        "actor": None,
        "details": details,
        "dedup_key": key,
    }


def _fold_episodes(session: Session, summaries: list[EpisodeSummary]) -> int:
    latest: dict[str, EpisodeSummary] = {}
    for summary in summaries:  # in topic order: the last one of a key wins
        latest[summary.custody_record_id] = summary
    if not latest:
        return 0
    rows = [_episode_row(s) for s in latest.values()]
    upsert = dialect_insert(session, episodes)
    excluded = upsert.excluded
    statement = upsert.on_conflict_do_update(
        index_elements=[episodes.c.custody_record_id],
        set_={c: excluded[c] for c in rows[0] if c != "custody_record_id"},
        # Defensive: never replace a summary with an older one.
        where=episodes.c.updated_at <= excluded.updated_at,
    )
    session.execute(statement, rows)
    return len(rows)


def _episode_row(summary: EpisodeSummary) -> dict[str, Any]:
    return {
        "custody_record_id": summary.custody_record_id,
        "suite_id": summary.suite_id,
        "home_local_authority": summary.home_local_authority,
        "juvenile": summary.juvenile,
        "t0": _time(summary.detention_authorised_at),
        "ended_at": None if summary.ended_at is None else _time(summary.ended_at),
        "updated_at": _time(summary.updated_at),
        "summary": EPISODE_ADAPTER.dump_python(summary, mode="json"),
    }


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- offsets ---------------------------------------------------------------------


TopicPartitionKey = tuple[str, int]


def load_offsets(
    session: Session, group: str, topics: Iterable[str]
) -> dict[TopicPartitionKey, int]:
    """The next offset to consume per (topic, partition) of `group`, as committed."""
    rows = session.execute(
        select(
            consumer_offsets.c.topic, consumer_offsets.c.partition, consumer_offsets.c.next_offset
        )
        .where(consumer_offsets.c.group_id == group)
        .where(consumer_offsets.c.topic.in_(list(topics)))
    )
    return {(topic, partition): offset for topic, partition, offset in rows}


class OffsetsMovedError(Exception):
    """Another fold of the same group committed offsets meanwhile: re-read them and seek."""


def advance_offsets(
    session: Session,
    group: str,
    committed: Mapping[TopicPartitionKey, int | None],
    new: Mapping[TopicPartitionKey, int],
) -> None:
    """Move each partition's offset from what this fold last committed to `new`.

    Compare-and-set: the UPDATE only matches the offset this fold read, so a
    second fold of the same group (which would fold the same records) makes
    this raise `OffsetsMovedError` and its whole transaction rolls back. Run it
    first in the transaction: on PostgreSQL it then also holds the row locks.
    """
    table: Table = consumer_offsets
    for (topic, partition), offset in new.items():
        expected = committed.get((topic, partition))
        where = and_(
            table.c.group_id == group, table.c.topic == topic, table.c.partition == partition
        )
        if expected is None:
            exists = session.execute(select(table.c.next_offset).where(where)).first()
            if exists is not None:
                raise OffsetsMovedError(f"{topic}/{partition}")
            try:
                session.execute(
                    insert(table).values(
                        group_id=group, topic=topic, partition=partition, next_offset=offset
                    )
                )
            except IntegrityError:  # the other fold inserted it first
                raise OffsetsMovedError(f"{topic}/{partition}") from None
            continue
        moved = session.execute(
            update(table).where(where, table.c.next_offset == expected).values(next_offset=offset)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise OffsetsMovedError(f"{topic}/{partition}")
