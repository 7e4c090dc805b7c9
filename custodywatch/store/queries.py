"""What the CLI, the lifecycle service and the board read and write.

Each function works inside the caller's session and transaction; none commits.
Claims (`claim_due_escalations`, `claim_due_outbox`) use
`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so several instances never
claim the same row. SQLite has no row locks: run ONE instance there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from custodywatch.contract.notifications import NOTIFICATION_ADAPTER, Notification
from custodywatch.store.db import dialect_insert
from custodywatch.store.schema import alert_log, alerts, outbox

ERROR_TEXT_LIMIT = 500


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert's current state, acknowledgement and escalation timer."""

    alert_id: str
    rule: str
    stage: str
    instance: str | None
    severity: str
    state: str
    custody_record_id: str
    person_ref: str
    suite_id: str
    home_local_authority: str
    due_at: datetime
    raised_at: datetime
    state_at: datetime
    summary: str
    ack_by: str | None
    ack_role: str | None
    ack_at: datetime | None
    ack_note: str | None
    escalation_step: int | None
    next_step_at: datetime | None


@dataclass(frozen=True, slots=True)
class LogEntry:
    id: int
    kind: str
    at: datetime
    actor: str | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AlertHistory:
    alert: AlertView
    log: tuple[LogEntry, ...]
    """Oldest first, in the order the store wrote them."""


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    notification: Notification
    attempts: int
    """Attempts before this one."""


class AckOutcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    ALREADY = "already acknowledged"
    UNKNOWN = "no such alert"


def _view(row: Row[Any]) -> AlertView:
    values = dict(row._mapping)
    values.pop("lifecycle", None)  # the lifecycle's own state: read through `load_case`
    return AlertView(**values)


def list_alerts(
    session: Session,
    *,
    open_only: bool = False,
    suite_id: str | None = None,
    local_authority: str | None = None,
    limit: int | None = None,
) -> list[AlertView]:
    """Newest raised first. Open = state `raised` (acknowledged or not)."""
    query = select(alerts).order_by(alerts.c.raised_at.desc(), alerts.c.alert_id)
    if open_only:
        query = query.where(alerts.c.state == "raised")
    if suite_id is not None:
        query = query.where(alerts.c.suite_id == suite_id)
    if local_authority is not None:
        query = query.where(alerts.c.home_local_authority == local_authority)
    if limit is not None:
        query = query.limit(limit)
    return [_view(row) for row in session.execute(query)]


def get_alert(session: Session, alert_id: str) -> AlertHistory | None:
    row = session.execute(select(alerts).where(alerts.c.alert_id == alert_id)).first()
    if row is None:
        return None
    entries = session.execute(
        select(alert_log.c.id, alert_log.c.kind, alert_log.c.at, alert_log.c.actor)
        .add_columns(alert_log.c.details)
        .where(alert_log.c.alert_id == alert_id)
        .order_by(alert_log.c.id)
    )
    return AlertHistory(_view(row), tuple(LogEntry(**e._mapping) for e in entries))


def add_log_entry(
    session: Session,
    *,
    alert_id: str,
    kind: str,
    at: datetime,
    dedup_key: str,
    actor: str | None = None,
    details: dict[str, Any] | None = None,
) -> bool:
    """Append to an alert's log unless an entry with `dedup_key` exists; True if added."""
    statement = (
        dialect_insert(session, alert_log)
        .values(
            alert_id=alert_id,
            kind=kind,
            at=at,
            actor=actor,
            details=details or {},
            dedup_key=dedup_key,
        )
        .on_conflict_do_nothing(index_elements=[alert_log.c.dedup_key])
        .returning(alert_log.c.id)
    )
    return session.execute(statement).first() is not None


def acknowledge(
    session: Session, alert_id: str, *, by: str, role: str | None, note: str | None, now: datetime
) -> AckOutcome:
    """Take ownership: stops escalation (clears the timer), does not resolve.

    A second acknowledgement is a no-op, whoever makes it.
    """
    row = session.execute(
        select(alerts.c.ack_at).where(alerts.c.alert_id == alert_id).with_for_update()
    ).first()
    if row is None:
        return AckOutcome.UNKNOWN
    if row.ack_at is not None:
        return AckOutcome.ALREADY
    session.execute(
        update(alerts)
        .where(alerts.c.alert_id == alert_id)
        .values(ack_by=by, ack_role=role, ack_at=now, ack_note=note, next_step_at=None)
    )
    details: dict[str, Any] = {"role": role}
    if note:
        details["note"] = note
    add_log_entry(
        session,
        alert_id=alert_id,
        kind="acknowledged",
        at=now,
        actor=by,
        details=details,
        dedup_key=f"{alert_id}/acknowledged",
    )
    return AckOutcome.ACKNOWLEDGED


def set_escalation(
    session: Session, alert_id: str, *, step: int | None, next_step_at: datetime | None
) -> None:
    """Record the step reached and when the next one is due (None: no further step)."""
    session.execute(
        update(alerts)
        .where(alerts.c.alert_id == alert_id)
        .values(escalation_step=step, next_step_at=next_step_at)
    )


def claim_due_escalations(session: Session, now: datetime, limit: int = 100) -> list[AlertView]:
    """Raised, unacknowledged alerts whose next step is due, oldest first, locked.

    The rows stay locked until the caller's transaction ends: escalate them and
    `set_escalation` in that same transaction.
    """
    query = (
        select(alerts)
        .where(
            alerts.c.next_step_at <= now,
            alerts.c.state == "raised",
            alerts.c.ack_at.is_(None),
        )
        .order_by(alerts.c.next_step_at, alerts.c.alert_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_view(row) for row in session.execute(query)]


def enqueue(session: Session, notification: Notification, *, next_attempt_at: datetime) -> bool:
    """Add a notification to the outbox unless its idempotency key is there; True if added."""
    statement = (
        dialect_insert(session, outbox)
        .values(
            idempotency_key=notification.idempotency_key,
            channel=notification.channel,
            address=notification.address,
            payload=NOTIFICATION_ADAPTER.dump_python(notification, mode="json"),
            attempts=0,
            next_attempt_at=next_attempt_at,
            created_at=datetime.fromisoformat(notification.created_at),
        )
        .on_conflict_do_nothing(
            index_elements=[outbox.c.idempotency_key, outbox.c.channel, outbox.c.address]
        )
        .returning(outbox.c.id)
    )
    return session.execute(statement).first() is not None


def claim_due_outbox(
    session: Session, now: datetime, *, lease: timedelta, limit: int = 50
) -> list[OutboxItem]:
    """Undelivered notifications due at `now`, oldest first, leased for `lease`.

    The claim moves `next_attempt_at` to now + lease: commit, deliver outside
    the transaction, then `record_delivery`. A deliverer that dies mid-way
    leaves its rows to be claimed again when the lease runs out (at least once).
    """
    rows = session.execute(
        select(outbox.c.id, outbox.c.payload, outbox.c.attempts)
        .where(outbox.c.delivered_at.is_(None), outbox.c.next_attempt_at <= now)
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return []
    session.execute(
        update(outbox)
        .where(outbox.c.id.in_([r.id for r in rows]))
        .values(next_attempt_at=now + lease)
    )
    return [
        OutboxItem(r.id, NOTIFICATION_ADAPTER.validate_python(r.payload), r.attempts) for r in rows
    ]


def record_delivery(
    session: Session,
    outbox_id: int,
    *,
    now: datetime,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    """One delivery attempt: `error` None = delivered; else retry at `retry_at` (None: give up).

    Writes a `delivery_attempt` entry in the log of each alert the notification carries.
    """
    row = session.execute(
        select(outbox.c.idempotency_key, outbox.c.attempts, outbox.c.payload, outbox.c.channel)
        .where(outbox.c.id == outbox_id)
        .with_for_update()
    ).one()
    attempt = row.attempts + 1
    text = None if error is None else error.strip().splitlines()[0][:ERROR_TEXT_LIMIT]
    delivered = {"delivered_at": now, "next_attempt_at": None, "last_error": None}
    failed = {"next_attempt_at": retry_at, "last_error": text}
    session.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id)
        .values(attempts=outbox.c.attempts + 1, **(delivered if error is None else failed))
    )
    payload = row.payload
    for line in payload["alerts"]:
        add_log_entry(
            session,
            alert_id=line["alert_id"],
            kind="delivery_attempt",
            at=now,
            actor=payload["recipient"],
            details={
                "idempotency_key": row.idempotency_key,
                "channel": row.channel,
                "attempt": attempt,
                "ok": error is None,
                "error": text,
                "retry_at": None if retry_at is None else retry_at.isoformat(),
            },
            dedup_key=(
                f"{line['alert_id']}/delivery/{row.idempotency_key}/{row.channel}/{attempt}"
            ),
        )
