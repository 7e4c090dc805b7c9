"""A notification to one person or team, as the lifecycle core decides it and
the notifiers deliver it (`custody.notifications.v1`, webhook bodies, email).

Pseudonymous: the person_ref, custody record, suite, rule, stage, times and the
one-line summary; never a name or free text about a child.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, TypeAdapter

NotificationKind = Literal["raised", "escalated", "resolved", "retracted", "report"]
Channel = Literal["webhook", "email", "kafka"]


@dataclass(frozen=True, slots=True)
class AlertLine:
    """One alert as a notification shows it."""

    alert_id: str
    rule: str
    stage: str
    severity: Literal["warning", "critical"]
    state: Literal["raised", "resolved", "retracted"]
    custody_record_id: str
    person_ref: str
    suite_id: str
    home_local_authority: str
    due_at: str
    raised_at: str
    summary: str


@dataclass(frozen=True, slots=True)
class ReportFigure:
    """One figure of a monthly report, as the report shows it (suppressed: "<5", "*")."""

    key: str
    """Stable: `<table id>/<row key>` in the report's CSV."""
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class ReportNotice:
    """A local authority's monthly report: its headline figures and their definitions.

    The e-mail carries the whole report (HTML, and the CSV zip) as attachments;
    webhook and Kafka receivers get these facts only. Counts, never a child."""

    local_authority: str
    month: str
    """YYYY-MM: the calendar month of T0, local time."""
    period_from: str
    period_to: str
    """Dates (YYYY-MM-DD), inclusive."""
    suppressed: bool
    figures: tuple[ReportFigure, ...]
    definitions: tuple[str, ...]
    """As printed in the report; the first says which edition it is."""
    data_from: str | None = None
    """The store's first detention (YYYY-MM-DD) when it falls inside the month."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to one recipient on one channel.

    `idempotency_key` is stable across retries and restarts:
    `{alert_id}/{step}/{recipient}/{kind}` (for a group, the first alert's id;
    for a monthly report `report:{la}:{YYYY-MM}`); receivers de-duplicate on it.
    """

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    idempotency_key: str
    kind: NotificationKind
    step: int
    """Escalation step (0 at raise)."""
    recipient: str
    """Routing id, e.g. 'suite/perry-barr/custody_sergeant', 'la/birmingham/out_of_hours'."""
    channel: Channel
    address: str
    """URL, email address or topic, from routing.yaml."""
    subject: str
    text: str
    """Plain-text body; the HTML e-mail and the webhook JSON carry the same facts."""
    alerts: tuple[AlertLine, ...]
    created_at: str
    """When the lifecycle decided it (RFC 3339 UTC)."""
    schema_version: Literal[1] = 1
    report: ReportNotice | None = None
    """Set for kind `report` (a monthly report; `alerts` is then empty)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


NOTIFICATION_ADAPTER: TypeAdapter[Notification] = TypeAdapter(Notification)
