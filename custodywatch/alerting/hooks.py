"""The fold's hook: each new alert record's lifecycle decision, in the fold's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from custodywatch.alerting.cases import apply, load_case
from custodywatch.alerting.clock import Clock
from custodywatch.contract.alerts import AlertRecord, AlertState
from custodywatch.lifecycle.decide import on_record
from custodywatch.lifecycle.policy import EscalationPolicy
from custodywatch.lifecycle.routing import Routing


def _us(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1_000_000)


class LifecycleHooks:
    """Tell people about each raise, resolution and retraction as it is folded.

    The decision (who is told, the first escalation time, the log) commits with
    the alert record and the offsets it was read at: exactly once in effect.
    """

    def __init__(self, policy: EscalationPolicy, routing: Routing, clock: Clock) -> None:
        self.policy, self.routing, self.clock = policy, routing, clock

    def on_alert(
        self, session: Session, record: AlertRecord, previous_state: AlertState | None
    ) -> None:
        self.clock.saw(_us(record.state_at))
        now = self.clock.now_us()
        case = load_case(session, record.alert_id)
        decision = on_record(case, record, now, self.policy, self.routing)
        apply(session, decision, now, self.policy.group_window)
