"""An alert's lifecycle case on its store row, and a `Decision` applied in one session.

Every write a decision causes happens in the caller's transaction: the case, the
timer (`next_step_at`), the log entries and the notifications (outbox rows). So a
step is taken, logged and queued for delivery together, or not at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from custodywatch.contract.notifications import NOTIFICATION_ADAPTER, Notification
from custodywatch.lifecycle.case import Case, Decision, LogEntry
from custodywatch.lifecycle.grouping import key as group_key
from custodywatch.lifecycle.grouping import merge
from custodywatch.store.db import dialect_insert
from custodywatch.store.queries import add_log_entry
from custodywatch.store.schema import alerts, outbox

# The fold writes these from the alert records themselves.
_FOLDED_KINDS = frozenset({"raised", "resolved", "retracted"})


def moment(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1e6, UTC)


def load_case(session: Session, alert_id: str, *, lock: bool = False) -> Case | None:
    query = select(alerts.c.lifecycle).where(alerts.c.alert_id == alert_id)
    row = session.execute(query.with_for_update() if lock else query).first()
    if row is None or row.lifecycle is None:
        return None
    return Case.from_dict(row.lifecycle)


def apply(session: Session, decision: Decision, now: int, window_us: int) -> int:
    """Store the decision; returns the number of outbox rows it added or filled."""
    case = decision.case
    steps = [s.step for s in case.steps]
    values: dict[str, object] = {
        "lifecycle": case.to_dict(),
        "escalation_step": max(steps) if steps else None,
        "next_step_at": None if case.next_at is None else moment(case.next_at),
    }
    if case.ack is not None:
        values.update(
            ack_by=case.ack.user,
            ack_role=case.ack.role,
            ack_at=moment(case.ack.at),
            ack_note=case.ack.note,
        )
    session.execute(update(alerts).where(alerts.c.alert_id == case.alert_id).values(**values))
    for entry in decision.log:
        if entry.kind not in _FOLDED_KINDS:
            _log(session, entry)
    return sum(enqueue_grouped(session, n, now, window_us) for n in decision.notifications)


def _log(session: Session, entry: LogEntry) -> None:
    who = entry.actor or entry.recipient or ""
    step = entry.details.get("step", "")
    add_log_entry(
        session,
        alert_id=entry.alert_id,
        kind=entry.kind,
        at=moment(entry.at),
        actor=entry.actor or entry.recipient,
        details=dict(entry.details),
        dedup_key=f"{entry.alert_id}/{entry.kind}/{step}/{who}/{entry.at}",
    )


def enqueue_grouped(session: Session, n: Notification, now: int, window_us: int) -> int:
    """Queue `n`, grouping a custody record's notices to one recipient within the window.

    The first goes at once and opens the window; later ones are held, in one
    row, until the window closes (lifecycle/grouping.py semantics, kept in the
    database so a restart neither loses nor re-sends them).
    """
    group = "|".join(group_key(n))
    since = moment(now - window_us)
    latest = session.execute(
        select(outbox.c.id, outbox.c.payload, outbox.c.created_at, outbox.c.held_until)
        .add_columns(outbox.c.delivered_at)
        .where(outbox.c.group_key == group, outbox.c.created_at >= since)
        .order_by(outbox.c.id.desc())
        .limit(1)
        .with_for_update()
    ).first()
    at = moment(now)
    if latest is not None and latest.held_until is not None:
        if latest.delivered_at is None and latest.held_until > at:
            held = NOTIFICATION_ADAPTER.validate_python(latest.payload)
            merged = merge([held, n]).notification
            payload = NOTIFICATION_ADAPTER.dump_python(merged, mode="json")
            session.execute(update(outbox).where(outbox.c.id == latest.id).values(payload=payload))
            return 1
        latest = None  # that window has closed: this one opens a new one
    held_until = None if latest is None else latest.created_at + timedelta(microseconds=window_us)
    statement = (
        dialect_insert(session, outbox)
        .values(
            idempotency_key=n.idempotency_key,
            channel=n.channel,
            address=n.address,
            payload=NOTIFICATION_ADAPTER.dump_python(n, mode="json"),
            attempts=0,
            next_attempt_at=held_until or at,
            created_at=at,
            group_key=group,
            held_until=held_until,
        )
        .on_conflict_do_nothing(
            index_elements=[outbox.c.idempotency_key, outbox.c.channel, outbox.c.address]
        )
        .returning(outbox.c.id)
    )
    return 1 if session.execute(statement).first() is not None else 0
