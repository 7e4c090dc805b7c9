"""Builders for the lifecycle tests: alert records, the shipped policy and routing, a clock in minutes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Literal

from custodywatch.contract.alerts import AlertRecord, Severity
from custodywatch.core.clock import iso
from custodywatch.lifecycle.case import Decision
from custodywatch.lifecycle.policy import EscalationPolicy, policy_from_yaml
from custodywatch.lifecycle.routing import Routing, routing_from_yaml

ROOT = Path(__file__).resolve().parents[2]
POLICY: EscalationPolicy = policy_from_yaml((ROOT / "alerts" / "escalation.yaml").read_text())
ROUTING: Routing = routing_from_yaml((ROOT / "alerts" / "routing.yaml").read_text())

T0 = 1_772_388_000_000_000  # 2026-03-01T18:00:00Z, when the alert is raised
MIN = 60_000_000


def at(minutes: float) -> int:
    """The instant `minutes` after T0."""
    return T0 + int(minutes * MIN)


def alert(
    rule: str = "detention_duration",
    stage: str = "breach",
    severity: Severity = "critical",
    *,
    record_id: str = "CR1",
    suite: str = "perry-barr",
    la: str = "birmingham",
    raised: int = T0,
) -> AlertRecord:
    return AlertRecord(
        alert_id=f"{record_id}/{rule}/{stage}",
        rule=rule,
        stage=stage,
        instance=None,
        severity=severity,
        custody_record_id=record_id,
        suite_id=suite,
        person_ref="P-001",
        home_local_authority=la,
        due_at=iso(raised),
        raised_at=iso(raised),
        summary="6h 00m in custody (guideline 6h)",
        state="raised",
        state_at=iso(raised),
        evidence_event_id=None,
    )


def closed(record: AlertRecord, state: Literal["resolved", "retracted"], when: int) -> AlertRecord:
    return replace(
        record,
        state=state,
        state_at=iso(when),
        evidence_event_id="e-99",
        summary=f"{state}: released",
    )


def told(decision: Decision) -> set[tuple[int, str, str]]:
    """(step, recipient, kind) of each notice, channels folded."""
    return {(n.step, n.recipient, n.kind) for n in decision.notifications}
