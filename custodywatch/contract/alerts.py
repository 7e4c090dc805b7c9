"""The alert record custodywatch publishes (`custody.alerts.v1`, replay output)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Severity = Literal["warning", "critical"]


class AlertRecord(BaseModel):
    """One welfare alert. `alert_id` is stable: the same deadline always has the same id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alert_id: str
    rule: str
    stage: str
    instance: str | None
    severity: Severity
    custody_record_id: str
    suite_id: str
    person_ref: str
    home_local_authority: str
    due_at: str
    raised_at: str
    summary: str
