"""The alert record custodywatch publishes (`custody.alerts.v1`, replay output).

Version 2 of the record: the alerts topic is each alert's history, keyed by
`alert_id`, and its latest record is the alert's state (`raised`, then perhaps
`resolved` or `retracted`, each published once). Version 1 records had no
`state`; they were all raises.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, TypeAdapter

Severity = Literal["warning", "critical"]
AlertState = Literal["raised", "resolved", "retracted"]

ALERT_SCHEMA_VERSION = 2


# A plain dataclass, not a pydantic model: the core builds one per firing from
# typed state, and a model costs about three times more to construct. Pydantic
# still gives the JSON Schema and the wire encoding, through `ALERT_ADAPTER`.
@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One welfare alert in one state. `alert_id` is stable: the same deadline, the same id.

    - `raised_at`: when the alert was raised (wall clock live; event time in replay).
      Carried unchanged on its later records.
    - `state_at`: event time of what caused this record: for `raised`, the due
      time or the late evidence that made it due, whichever is later; for
      `resolved` / `retracted`, the `occurred_at` of the evidence.
    - `evidence_event_id`: the event that resolved or retracted it (None for `raised`).
    - `summary`: one line for a sergeant; for `resolved` / `retracted` it says why.
    """

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

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
    state: AlertState
    state_at: str
    evidence_event_id: str | None
    schema_version: Literal[2] = 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ALERT_ADAPTER: TypeAdapter[AlertRecord] = TypeAdapter(AlertRecord)
