"""The state machine of one alert: raise, escalate, acknowledge, resolve, retract.

Pure functions from (case, input, now, policy, routing) to a `Decision`. The
ladder runs from the alert's `raised_at`, so replay and the demo escalate in
event time. The caller stores the decision's case and log with its
notifications (an outbox) in one transaction, and calls `on_due` (or
`advance`) when `next_at` comes; at the same instant, acknowledgements first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from custodywatch.contract.alerts import AlertRecord
from custodywatch.contract.notifications import Notification, NotificationKind
from custodywatch.core.clock import format_span, iso, to_us
from custodywatch.lifecycle.case import Ack, Case, Decision, LogEntry, LogKind, StepTaken
from custodywatch.lifecycle.policy import LA_ROLES, SUITE_ROLES, EscalationPolicy, Ladder
from custodywatch.lifecycle.render import notices
from custodywatch.lifecycle.routing import Routing, Target

# A later record replaces an earlier one only if it moves the alert on; so a
# re-delivered (or replayed) record is a no-op.
_RANK = {"raised": 0, "resolved": 1, "retracted": 2}


def us(text: str) -> int:
    return to_us(datetime.fromisoformat(text))


def on_record(
    case: Case | None, record: AlertRecord, now: int, policy: EscalationPolicy, routing: Routing
) -> Decision:
    """A record from the alerts topic: a new alert is told at once; a resolve or retract closes it."""
    if case is not None and _RANK[record.state] <= _RANK[case.record.state]:
        return Decision(case)
    if record.state == "raised":
        return _raise(record, now, policy, routing)
    return _close(case, record, now, routing)


def on_due(case: Case, now: int, policy: EscalationPolicy, routing: Routing) -> Decision:
    """Take the step that is due, if it still is: not acknowledged, not closed, its time come."""
    step, due = case.next_step, case.next_at
    if case.record.state != "raised" or case.ack is not None or step is None or due is None:
        return Decision(case)
    if now < due:
        return Decision(case)
    ladder = policy.ladder(case.record)
    raised = us(case.record.raised_at)
    if ladder.offset(step) is None:
        entry = _entry(case, "escalated", now, step=str(step), outcome="no such step in the policy")
        return Decision(case.with_(next_step=None, next_at=None), log=(entry,))
    skipped = 0
    # After an outage, one repeat notice for the latest repeat that is due, not a burst.
    while step >= len(ladder.steps) and raised + _offset(ladder, step + 1) <= now:
        step, skipped = step + 1, skipped + 1
    due = raised + _offset(ladder, step)
    targets = routing.targets(ladder.roles(step), case.record)
    why = (
        f"Not acknowledged {format_span(due - raised)} after it was raised: "
        f"escalated to you (step {step})."
    )
    sent, told, taken = _tell(case.record, step, due, "escalated", targets, now, why)
    next_step, next_at = _next(ladder, raised, step + 1)
    details = {"step": str(step), "due_at": iso(due)}
    if skipped:
        details["repeats_skipped"] = str(skipped)
    if next_step is None:
        details["outcome"] = "last step of the ladder"
    entry = LogEntry(case.alert_id, "escalated", now, details=details)
    new = case.with_(steps=(*case.steps, taken), next_step=next_step, next_at=next_at)
    return Decision(new, sent, (entry, *told))


def advance(case: Case, now: int, policy: EscalationPolicy, routing: Routing) -> Decision:
    """`on_due` until nothing more is due at `now` (a late raise, a restart after an outage)."""
    sent: list[Notification] = []
    log: list[LogEntry] = []
    while case.next_at is not None and case.next_at <= now:
        decision = on_due(case, now, policy, routing)
        if decision.case == case:
            break
        case = decision.case
        sent.extend(decision.notifications)
        log.extend(decision.log)
    return Decision(case, tuple(sent), tuple(log))


def on_ack(case: Case, user: str, role: str, note: str | None, now: int) -> Decision:
    """A signed-in user takes ownership: escalation stops; the alert stays raised."""
    refusal = _not_covered(role, case.record)
    if refusal is not None:
        entry = LogEntry(case.alert_id, "ack_refused", now, actor=user)
        entry.details.update(role=role, reason=refusal)
        return Decision(case, log=(entry,), ack="refused", reason=refusal)
    if case.ack is not None:
        who = f"{case.ack.user} ({case.ack.role}) at {iso(case.ack.at)}"
        return Decision(case, ack="already_acknowledged", reason=f"already acknowledged by {who}")
    entry = LogEntry(case.alert_id, "acknowledged", now, actor=user)
    entry.details.update(role=role, state=case.record.state, note="yes" if note else "no")
    if case.next_step is not None:
        entry.details["cancelled_step"] = str(case.next_step)
    new = case.with_(ack=Ack(user, role, now, note), next_step=None, next_at=None)
    if case.record.state != "raised":
        reason = (
            f"the alert was already {case.record.state} at {case.record.state_at}; "
            "your acknowledgement is recorded"
        )
        return Decision(new, log=(entry,), ack="already_closed", reason=reason)
    return Decision(new, log=(entry,), ack="acknowledged")


def _raise(record: AlertRecord, now: int, policy: EscalationPolicy, routing: Routing) -> Decision:
    case = Case(record)
    ladder = policy.ladder(record)
    raised = us(record.raised_at)
    targets = routing.targets(ladder.roles(0) + policy.extras(record), record)
    why = "Raised: please acknowledge it on the custody board when you take it on."
    sent, told, taken = _tell(record, 0, raised, "raised", targets, now, why)
    next_step, next_at = _next(ladder, raised, 1)
    entry = _entry(case, "raised", now, severity=record.severity, state_at=record.state_at)
    new = case.with_(steps=(taken,), next_step=next_step, next_at=next_at)
    return Decision(new, sent, (entry, *told))


def _close(case: Case | None, record: AlertRecord, now: int, routing: Routing) -> Decision:
    """Resolve or retract: cancel what is pending, and tell everyone already told, once."""
    old = case if case is not None else Case(record)
    kind: Literal["resolved", "retracted"] = (
        "resolved" if record.state == "resolved" else "retracted"
    )
    entry = _entry(
        old, kind, now, state_at=record.state_at, evidence_event_id=record.evidence_event_id or ""
    )
    if old.next_step is not None:
        entry.details["cancelled_step"] = str(old.next_step)
    if case is None:
        entry.details["first_seen"] = "no earlier record of this alert: nobody had been told"
    new = old.with_(record=record, next_step=None, next_at=None)
    step = old.steps[-1].step if old.steps else 0
    why = (
        "Resolved: no further escalation."
        if kind == "resolved"
        else "Retracted: later evidence shows it should not have been raised. No action needed."
    )
    if old.ack is not None:
        why += f" It had been acknowledged by the {old.ack.role} at {iso(old.ack.at)}."
    targets = tuple(routing.again(r, role, record) for r, role in old.notified.items())
    sent, told, _ = _tell(record, step, now, kind, targets, now, why)
    return Decision(new, sent, (entry, *told))


def _tell(
    record: AlertRecord,
    step: int,
    due: int,
    kind: NotificationKind,
    targets: tuple[Target, ...],
    now: int,
    why: str,
) -> tuple[tuple[Notification, ...], list[LogEntry], StepTaken]:
    sent: list[Notification] = []
    told: list[LogEntry] = []
    for t in targets:
        batch = notices(kind, step, t, record, now, why)
        sent.extend(batch)
        entry = LogEntry(record.alert_id, "notified", now, recipient=t.recipient)
        entry.details.update(
            kind=kind,
            step=str(step),
            roles=",".join(t.roles),
            channels=",".join(n.channel for n in batch),
        )
        if t.fallback:
            entry.details["fallback"] = "; ".join(t.fallback)
        told.append(entry)
    taken = StepTaken(
        step, due, now, tuple(t.recipient for t in targets), tuple(t.roles[0] for t in targets)
    )
    return tuple(sent), told, taken


def _offset(ladder: Ladder, step: int) -> int:
    offset = ladder.offset(step)
    assert offset is not None, "only called for steps of a repeating ladder"
    return offset


def _next(ladder: Ladder, raised: int, step: int) -> tuple[int | None, int | None]:
    offset = ladder.offset(step)
    return (None, None) if offset is None else (step, raised + offset)


def _entry(case: Case, kind: LogKind, now: int, **details: str) -> LogEntry:
    return LogEntry(case.alert_id, kind, now, details=dict(details))


def _not_covered(role: str, record: AlertRecord) -> str | None:
    """None if `role` (a routing id such as 'suite/perry-barr/custody_sergeant') covers the alert."""
    parts = role.split("/")
    if len(parts) == 3 and parts[0] == "suite" and parts[2] in SUITE_ROLES:
        if parts[1] == record.suite_id:
            return None
        return f"{role} does not cover suite {record.suite_id}"
    if len(parts) == 3 and parts[0] == "la" and parts[2] in LA_ROLES:
        if parts[1] == record.home_local_authority:
            return None
        return f"{role} does not cover local authority {record.home_local_authority}"
    if len(parts) == 2 and parts[0] == "force" and parts[1] in ("superintendent", "fallback"):
        return None
    return f"{role!r} is not a role: expected suite/<suite>/<role>, la/<la>/<role> or force/<role>"
