"""Rule thresholds (`alerts/rules.yaml`), validated with errors that name the key.

Pure: takes text or a mapping, never opens a file.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from custodywatch.contract.events import ArrestBasis

MINUTE_US = 60_000_000
HOUR_US = 60 * MINUTE_US

_DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$")


def _parse_duration(value: object) -> int:
    """'5h', '90m', '1h30m' -> microseconds. Bare numbers are refused: units matter."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match and any(match.groups()):
            hours, minutes = (int(g) if g else 0 for g in match.groups())
            return (hours * 60 + minutes) * MINUTE_US
    raise ValueError(f"expected a duration like '5h', '90m' or '1h30m', got {value!r}")


def _parse_clock(value: object) -> time:
    if isinstance(value, str) and re.fullmatch(r"\d{2}:\d{2}", value):
        return time.fromisoformat(value)
    raise ValueError(f"expected a local time 'HH:MM', got {value!r}")


Duration = Annotated[int, BeforeValidator(_parse_duration), Field(gt=0)]
ClockTime = Annotated[time, BeforeValidator(_parse_clock)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeZones(_Section):
    default: str = "Europe/London"
    suites: dict[str, str] = Field(default_factory=dict)

    @field_validator("default")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        _zone(name)
        return name

    @field_validator("suites")
    @classmethod
    def _known_zones(cls, suites: dict[str, str]) -> dict[str, str]:
        for zone in suites.values():
            _zone(zone)
        return suites

    def for_suite(self, suite_id: str) -> str:
        return self.suites.get(suite_id, self.default)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc


class DetentionDuration(_Section):
    approaching: Duration = 5 * HOUR_US
    breach: Duration = 6 * HOUR_US
    prolonged: Duration = 12 * HOUR_US


class Overnight(_Section):
    window_start: ClockTime = time(0, 0)
    window_end: ClockTime = time(6, 0)
    warning_at: ClockTime = time(22, 0)

    @field_validator("window_end")
    @classmethod
    def _after_start(cls, end: time, info: Any) -> time:
        start = info.data.get("window_start")
        if start is not None and end <= start:
            raise ValueError("window_end must be after window_start on the same night")
        return end


class AppropriateAdult(_Section):
    not_requested: Duration = 1 * HOUR_US
    not_arrived: Duration = 3 * HOUR_US


class Review(_Section):
    first: Duration = 6 * HOUR_US
    interval: Duration = 9 * HOUR_US


class DetentionLimit(_Section):
    initial_hours: Annotated[int, Field(ge=1, le=96)] = 24
    warning_before: Duration = 4 * HOUR_US
    arrival_cap: Duration = 24 * HOUR_US


class LaRequest(_Section):
    missing: Duration = 1 * HOUR_US
    escalated: Duration = 2 * HOUR_US
    exempt_arrest_bases: frozenset[ArrestBasis] = frozenset(
        {ArrestBasis.WARRANT, ArrestBasis.BREACH_OF_BAIL, ArrestBasis.COURT_REMAND}
    )


class LaResponse(_Section):
    overdue: Duration = 1 * HOUR_US


class Transfer(_Section):
    overdue: Duration = 2 * HOUR_US


class RuleConfig(_Section):
    version: int = 1
    juvenile_age: Annotated[int, Field(ge=1, le=25)] = 18
    criminal_responsibility_age: Annotated[int, Field(ge=1, le=18)] = 10
    time_zones: TimeZones = Field(default_factory=TimeZones)
    detention_duration: DetentionDuration = Field(default_factory=DetentionDuration)
    overnight: Overnight = Field(default_factory=Overnight)
    appropriate_adult: AppropriateAdult = Field(default_factory=AppropriateAdult)
    review: Review = Field(default_factory=Review)
    detention_limit: DetentionLimit = Field(default_factory=DetentionLimit)
    la_request: LaRequest = Field(default_factory=LaRequest)
    la_response: LaResponse = Field(default_factory=LaResponse)
    transfer: Transfer = Field(default_factory=Transfer)


class RuleConfigError(ValueError):
    """A rules file that cannot be used; the message names each bad key."""


def rules_from_mapping(data: object) -> RuleConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RuleConfigError("rules: the top level must be a mapping of sections")
    try:
        return RuleConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{key}: {msg}")
        raise RuleConfigError("invalid rules: " + "; ".join(problems)) from None


def rules_from_yaml(text: str) -> RuleConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleConfigError(f"rules: not valid YAML: {exc}") from None
    return rules_from_mapping(data)
