"""The alert record custodywatch publishes (`custody.alerts.v1`, replay output)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, TypeAdapter

Severity = Literal["warning", "critical"]


# A plain dataclass, not a pydantic model: the core builds one per firing from
# typed state, and a model costs about three times more to construct. Pydantic
# still gives the JSON Schema and the wire encoding, through `ALERT_ADAPTER`.
@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One welfare alert. `alert_id` is stable: the same deadline always has the same id."""

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ALERT_ADAPTER: TypeAdapter[AlertRecord] = TypeAdapter(AlertRecord)
