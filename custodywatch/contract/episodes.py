"""The episode summary custodywatch publishes (`custody.episodes.v1`, compacted).

One record per changed episode, keyed by `custody_record_id`; the latest record
is the episode as the rules core knows it. Reports and the board read these
facts and never re-interpret events. Pseudonymous: `person_ref` only; no names,
no free text about the child (an LA's refusal reason is the LA's words about
accommodation, kept for the safeguarding report).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, TypeAdapter

EPISODE_SCHEMA_VERSION = 1

# Not frozen: the worker builds one summary per changed episode per batch, and a frozen
# dataclass's __init__ costs twice a plain one's (object.__setattr__ per field). Treat
# them as values all the same: nothing changes a summary once it is built.

AgeBand = Literal["under 10", "10-13", "14-15", "16-17", "18 and over", "unknown"]
"""From the date of birth at T0; `unknown` when only `appears_under_18` is known."""


@dataclass(slots=True)
class SuiteStay:
    suite_id: str
    since: str


@dataclass(slots=True)
class LaRequest:
    requested_at: str
    local_authority: str
    accommodation_type: Literal["secure", "non_secure"]


@dataclass(slots=True)
class LaResponse:
    responded_at: str
    local_authority: str
    outcome: Literal["accepted", "refused"]
    reason: str | None


@dataclass(slots=True)
class Extension:
    """A superintendent's extension of the PACE detention limit (`detention_extended`)."""

    extended_at: str
    new_limit_hours: int


@dataclass(slots=True)
class Night:
    """A night (named by the local date of its 00:00) on which the person was held
    at some time in the night window (00:00-06:00 by default, suite's time zone)."""

    night: str
    pre_charge: bool
    """True when not yet charged at the start of the night's window (or at T0 if later)."""


@dataclass(slots=True)
class NextDeadline:
    alert_id: str
    rule: str
    stage: str
    due_at: str


@dataclass(slots=True)
class EpisodeSummary:
    """One detention episode's facts; times are RFC 3339 UTC ('...Z') or None."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    custody_record_id: str
    person_ref: str
    suite_id: str
    """Where the person is now (or was at the end)."""
    suites: tuple[SuiteStay, ...]
    """Every suite of the episode, first one at T0."""
    home_local_authority: str
    juvenile: bool
    age_at_t0: int | None
    age_band: AgeBand
    sex: str | None
    looked_after_child: bool | None
    arrest_basis: str
    offence_category: str
    arrested_at: str
    arrived_at: str
    detention_authorised_at: str
    """T0."""
    appropriate_adult_requested_at: str | None
    appropriate_adult_arrived_at: str | None
    reviews: tuple[str, ...]
    charged_at: str | None
    bail_refused_at: str | None
    la_requests: tuple[LaRequest, ...]
    la_responses: tuple[LaResponse, ...]
    transfer_impracticable_at: str | None
    transferred_to_la_at: str | None
    transferred_to_la: str | None
    nights: tuple[Night, ...]
    ended_at: str | None
    end: Literal["released", "transferred_to_la"] | None
    disposal: str | None
    next_deadline: NextDeadline | None
    """The earliest pending (unfired) deadline; None for adults and ended episodes."""
    updated_at: str
    """occurred_at of the latest event applied (event time)."""
    extensions: tuple[Extension, ...] = ()
    """Every extension of the detention limit, earliest first: with the facts above, all
    the rules read, so the episode can be replayed under other thresholds (what-if)."""
    schema_version: Literal[1] = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


EPISODE_ADAPTER: TypeAdapter[EpisodeSummary] = TypeAdapter(EpisodeSummary)
