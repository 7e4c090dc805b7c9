"""The words of a notice: subject and plain text from an alert record. Pseudonymous only.

A notice names the custody record, suite, person_ref, home LA, rule, stage,
times and the engine's one-line summary; never a name or free text (an
acknowledgement's note is never copied here).
"""

from __future__ import annotations

from custodywatch.contract.alerts import AlertRecord
from custodywatch.contract.notifications import AlertLine, Notification, NotificationKind
from custodywatch.core.clock import iso
from custodywatch.lifecycle.routing import Target

TITLES = {
    "custody_sergeant": "custody sergeant",
    "duty_inspector": "duty inspector",
    "superintendent": "superintendent",
    "out_of_hours": "out-of-hours team",
    "safeguarding_partnership": "safeguarding partnership",
}

_VERB: dict[NotificationKind, str] = {
    "raised": "raised",
    "escalated": "escalated",
    "resolved": "resolved",
    "retracted": "retracted",
    "report": "report",
}


def idempotency_key(alert_id: str, step: int, recipient: str, kind: NotificationKind) -> str:
    return f"{alert_id}/{step}/{recipient}/{kind}"


def alert_line(record: AlertRecord) -> AlertLine:
    return AlertLine(
        alert_id=record.alert_id,
        rule=record.rule,
        stage=record.stage,
        severity=record.severity,
        state=record.state,
        custody_record_id=record.custody_record_id,
        person_ref=record.person_ref,
        suite_id=record.suite_id,
        home_local_authority=record.home_local_authority,
        due_at=record.due_at,
        raised_at=record.raised_at,
        summary=record.summary,
    )


def _what(record: AlertRecord) -> str:
    return f"{record.rule}/{record.stage}" + (f" ({record.instance})" if record.instance else "")


def notices(
    kind: NotificationKind,
    step: int,
    target: Target,
    record: AlertRecord,
    now: int,
    why: str,
) -> tuple[Notification, ...]:
    """One notification per channel of the target; `why` is the line saying why they get it."""
    subject = (
        f"[{record.severity.upper()}] {_VERB[kind]}: {_what(record)}"
        f" - {record.custody_record_id} at {record.suite_id}"
    )
    lines = [
        f"Custody record {record.custody_record_id} at suite {record.suite_id}, "
        f"child {record.person_ref} (home local authority {record.home_local_authority}).",
        f"Alert {_what(record)}, {record.severity}: due {record.due_at}, raised {record.raised_at}.",
        record.summary,
        why,
        f"You receive this as the {' and '.join(TITLES[r] for r in target.roles)}.",
    ]
    lines.extend(f"Routing fallback: {why}." for why in target.fallback)
    lines.append(f"Alert id: {record.alert_id}")
    text = "\n".join(lines)
    key = idempotency_key(record.alert_id, step, target.recipient, kind)
    line = alert_line(record)
    return tuple(
        Notification(
            idempotency_key=key,
            kind=kind,
            step=step,
            recipient=target.recipient,
            channel=a.channel,
            address=a.address,
            subject=subject,
            text=text,
            alerts=(line,),
            created_at=iso(now),
        )
        for a in target.addresses
    )
