"""One alert's case as the store keeps it (a row plus its log), and what a decision returns.

Plain frozen dataclasses; times are integer microseconds since the Unix epoch.
`Case.to_dict` / `Case.from_dict` give the row as JSON-able values.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from custodywatch.contract.alerts import AlertRecord
from custodywatch.contract.notifications import Notification
from custodywatch.lifecycle.policy import Role

LogKind = Literal[
    "raised", "resolved", "retracted", "notified", "acknowledged", "ack_refused", "escalated"
]
AckOutcome = Literal["acknowledged", "already_acknowledged", "already_closed", "refused"]


@dataclass(frozen=True, slots=True)
class Ack:
    """Who took ownership. `note` is free text: kept in the case, never put in a notice."""

    user: str
    role: str
    at: int
    note: str | None = None


@dataclass(frozen=True, slots=True)
class StepTaken:
    """A step of the ladder that was taken: who was told (routing ids) and as which role."""

    step: int
    due_at: int
    at: int
    recipients: tuple[str, ...]
    roles: tuple[Role, ...]
    """Parallel to `recipients`: the (first) role each was told as."""


@dataclass(frozen=True, slots=True)
class Case:
    """The alert's latest record, its acknowledgement, the steps taken and the next one."""

    record: AlertRecord
    ack: Ack | None = None
    steps: tuple[StepTaken, ...] = ()
    next_step: int | None = None
    next_at: int | None = None
    """When `next_step` is due; None when nothing more will happen on its own."""

    @property
    def alert_id(self) -> str:
        return self.record.alert_id

    @property
    def notified(self) -> dict[str, Role]:
        """Everyone told so far, in the order they were first told, with the role they were told as."""
        told: dict[str, Role] = {}
        for s in self.steps:
            for recipient, role in zip(s.recipients, s.roles, strict=True):
                told.setdefault(recipient, role)
        return told

    def with_(self, **changes: Any) -> Case:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "record": self.record.to_dict(),
            "ack": None
            if self.ack is None
            else {
                "user": self.ack.user,
                "role": self.ack.role,
                "at": self.ack.at,
                "note": self.ack.note,
            },
            "steps": [
                {
                    "step": s.step,
                    "due_at": s.due_at,
                    "at": s.at,
                    "recipients": list(s.recipients),
                    "roles": list(s.roles),
                }
                for s in self.steps
            ],
            "next_step": self.next_step,
            "next_at": self.next_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Case:
        ack = data["ack"]
        return cls(
            record=AlertRecord(**data["record"]),
            ack=None if ack is None else Ack(ack["user"], ack["role"], ack["at"], ack["note"]),
            steps=tuple(
                StepTaken(
                    s["step"], s["due_at"], s["at"], tuple(s["recipients"]), tuple(s["roles"])
                )
                for s in data["steps"]
            ),
            next_step=data["next_step"],
            next_at=data["next_at"],
        )


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line of an alert's history, for the store and an inspection to read."""

    alert_id: str
    kind: LogKind
    at: int
    actor: str | None = None
    """The user, for acknowledgements."""
    recipient: str | None = None
    """The routing id, for notifications."""
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do: store `case`, append `log`, send `notifications`, wake at `next_at`."""

    case: Case
    notifications: tuple[Notification, ...] = ()
    log: tuple[LogEntry, ...] = ()
    ack: AckOutcome | None = None
    """For `on_ack` only: what became of the acknowledgement."""
    reason: str | None = None
    """For `on_ack`: one line for the user when it is not simply acknowledged."""

    @property
    def next_at(self) -> int | None:
        return self.case.next_at
