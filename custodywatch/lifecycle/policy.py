"""The escalation ladder (`alerts/escalation.yaml`): who is told at raise and who next, and when.

A ladder is a list of steps, each `after` the alert's `raised_at` (step 0 is
at 0m), optionally followed by a `repeat` that goes on every `every` after the
last step until the alert is acknowledged, resolved or retracted. Each
severity has one; a rule (or one rule/stage) may have its own. Some rules also
tell extra roles at raise (`also_at_raise`: the PACE s.38(6) alerts).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import Field, field_validator

from custodywatch.contract.alerts import AlertRecord, Severity
from custodywatch.lifecycle._loading import SECOND_US, Duration, PositiveDuration, Strict, load

Role = Literal[
    "custody_sergeant",
    "duty_inspector",
    "superintendent",
    "out_of_hours",
    "safeguarding_partnership",
]
SUITE_ROLES: tuple[Role, ...] = ("custody_sergeant", "duty_inspector")
LA_ROLES: tuple[Role, ...] = ("out_of_hours", "safeguarding_partnership")
FORCE_ROLES: tuple[Role, ...] = ("superintendent",)

# The rules engine's rule/stage pairs (a unit test keeps this equal to the core's),
# so a typo in a rule override is an error, not a silently ignored key.
RULE_STAGES = frozenset(
    {
        "under_ten/detained",
        "detention_duration/approaching",
        "detention_duration/breach",
        "detention_duration/prolonged",
        "overnight_hold/at_risk",
        "overnight_hold/overnight",
        "appropriate_adult/not_requested",
        "appropriate_adult/not_arrived",
        "review_overdue/overdue",
        "detention_limit/approaching",
        "detention_limit/limit",
        "la_request_missing/missing",
        "la_request_missing/escalated",
        "la_response_overdue/overdue",
        "la_refused/refused",
        "transfer_overdue/overdue",
    }
)
RULES = frozenset(key.split("/")[0] for key in RULE_STAGES)

Roles = Annotated[tuple[Role, ...], Field(min_length=1)]


class Step(Strict):
    after: Duration
    notify: Roles


class Repeat(Strict):
    every: PositiveDuration
    notify: Roles


class Ladder(Strict):
    steps: Annotated[tuple[Step, ...], Field(min_length=1)]
    repeat: Repeat | None = None

    @field_validator("steps")
    @classmethod
    def _in_order(cls, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        if steps[0].after != 0:
            raise ValueError("the first step must be at 0m: someone is told when it is raised")
        for earlier, later in pairwise(steps):
            if later.after <= earlier.after:
                raise ValueError("each step must come after the one before it")
        return steps

    def roles(self, step: int) -> tuple[Role, ...]:
        if step < len(self.steps):
            return self.steps[step].notify
        assert self.repeat is not None, "a step past the ladder needs a repeat"
        return self.repeat.notify

    def offset(self, step: int) -> int | None:
        """Microseconds after raise of step `step`, or None when the ladder has ended."""
        if step < len(self.steps):
            return self.steps[step].after
        if self.repeat is None:
            return None
        return self.steps[-1].after + (step - len(self.steps) + 1) * self.repeat.every


def _step(after: str, *roles: Role) -> Step:
    return Step.model_validate({"after": after, "notify": roles})


CRITICAL_LADDER = Ladder(
    steps=(
        _step("0m", "custody_sergeant"),
        _step("15m", "duty_inspector"),
        _step("45m", "superintendent"),
    ),
    repeat=Repeat.model_validate({"every": "60m", "notify": ["superintendent"]}),
)
WARNING_LADDER = Ladder(steps=(_step("0m", "custody_sergeant"), _step("30m", "duty_inspector")))


class Severities(Strict):
    critical: Ladder = CRITICAL_LADDER
    warning: Ladder = WARNING_LADDER


S38_EXTRAS: dict[str, tuple[Role, ...]] = {
    "la_request_missing": ("out_of_hours",),
    "la_request_missing/escalated": ("out_of_hours", "duty_inspector"),
    "la_response_overdue": ("out_of_hours",),
    "la_refused": ("out_of_hours", "duty_inspector"),
    "transfer_overdue": ("out_of_hours", "duty_inspector"),
}


class EscalationPolicy(Strict):
    version: Literal[1] = 1
    group_window: Duration = 60 * SECOND_US
    """Notices of one custody record to one recipient within this window go as one (0: off)."""
    severities: Severities = Field(default_factory=Severities)
    rules: dict[str, Ladder] = Field(default_factory=dict)
    """A ladder for a rule or a rule/stage, instead of its severity's."""
    also_at_raise: dict[str, Roles] = Field(default_factory=lambda: dict(S38_EXTRAS))
    """Roles also told at raise; a rule/stage entry replaces its rule's entry."""

    @field_validator("rules", "also_at_raise")
    @classmethod
    def _known_rules(cls, table: dict[str, object]) -> dict[str, object]:
        for key in table:
            if key not in RULES and key not in RULE_STAGES:
                raise ValueError(f"{key!r} is not a rule or rule/stage of the rules engine")
        return table

    def ladder(self, record: AlertRecord) -> Ladder:
        """The most specific ladder: rule/stage, then rule, then severity."""
        for key in (f"{record.rule}/{record.stage}", record.rule):
            if key in self.rules:
                return self.rules[key]
        return self._by_severity(record.severity)

    def _by_severity(self, severity: Severity) -> Ladder:
        return self.severities.critical if severity == "critical" else self.severities.warning

    def extras(self, record: AlertRecord) -> tuple[Role, ...]:
        for key in (f"{record.rule}/{record.stage}", record.rule):
            if key in self.also_at_raise:
                return self.also_at_raise[key]
        return ()


class PolicyError(ValueError):
    """An escalation file that cannot be used; the message names each bad key."""


def policy_from_yaml(text: str) -> EscalationPolicy:
    policy: EscalationPolicy = load(text, EscalationPolicy, "escalation policy", PolicyError)
    return policy
