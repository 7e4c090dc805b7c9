"""`custodywatch ack`: a person takes ownership of an alert, through the lifecycle core."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from custodywatch.alerting.cases import apply, load_case
from custodywatch.lifecycle.decide import on_ack
from custodywatch.lifecycle.policy import EscalationPolicy
from custodywatch.store.db import guarded, sessions, transaction


@dataclass(frozen=True)
class AckResult:
    outcome: str
    """acknowledged, already_acknowledged, already_closed, refused, or unknown."""
    message: str


def default_role(suite_id: str) -> str:
    """Without `--role`, the custody sergeant of the alert's suite acknowledges."""
    return f"suite/{suite_id}/custody_sergeant"


def acknowledge(
    engine: Engine,
    policy: EscalationPolicy,
    alert_id: str,
    *,
    user: str,
    role: str | None,
    note: str | None,
    now_us: int,
) -> AckResult:
    def run() -> AckResult:
        with transaction(sessions(engine)) as session:
            case = load_case(session, alert_id, lock=True)
            if case is None:
                return AckResult("unknown", f"no alert {alert_id} in the store")
            acting = role or default_role(case.record.suite_id)
            decision = on_ack(case, user, acting, note, now_us)
            apply(session, decision, now_us, policy.group_window)
            outcome = decision.ack or "acknowledged"
            message = (
                decision.reason or f"{alert_id} {outcome.replace('_', ' ')} by {user} ({acting})"
            )
            return AckResult(outcome, message)

    return guarded(engine, run)
