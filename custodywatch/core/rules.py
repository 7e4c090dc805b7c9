"""The welfare rules: pure functions from episode state to live deadlines.

Each rule yields the deadlines that are still live: not cancelled by an event
that occurred at or before their due time. Which of them have already fired is
the episode's business (`Episode.fired`); when a deadline fires is the
scheduler's. So every rule is a small, table-testable function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import NamedTuple

from custodywatch.contract.alerts import Severity
from custodywatch.core.clock import local_date, local_instant
from custodywatch.core.config import HOUR_US, RuleConfig
from custodywatch.core.episode import Episode

WARNING: Severity = "warning"
CRITICAL: Severity = "critical"


class Deadline(NamedTuple):
    due: int
    key: str
    """The alert id without the custody record id: rule/stage[/instance]."""
    rule: str
    stage: str
    instance: str | None
    severity: Severity


_new_tuple = tuple.__new__


class _Stage:
    """One rule stage: builds its deadlines with the key made once, not per call."""

    __slots__ = ("key", "rule", "severity", "stage")

    def __init__(self, rule: str, stage: str, severity: Severity) -> None:
        self.rule, self.stage, self.severity = rule, stage, severity
        self.key = f"{rule}/{stage}"

    def at(self, due: int) -> Deadline:
        return _new_tuple(Deadline, (due, self.key, self.rule, self.stage, None, self.severity))

    def instance(self, due: int, instance: str) -> Deadline:
        key = f"{self.key}/{instance}"
        return _new_tuple(Deadline, (due, key, self.rule, self.stage, instance, self.severity))


UNDER_TEN = _Stage("under_ten", "detained", CRITICAL)
DURATION_APPROACHING = _Stage("detention_duration", "approaching", WARNING)
DURATION_BREACH = _Stage("detention_duration", "breach", CRITICAL)
DURATION_PROLONGED = _Stage("detention_duration", "prolonged", CRITICAL)
OVERNIGHT_AT_RISK = _Stage("overnight_hold", "at_risk", WARNING)
OVERNIGHT = _Stage("overnight_hold", "overnight", CRITICAL)
AA_NOT_REQUESTED = _Stage("appropriate_adult", "not_requested", WARNING)
AA_NOT_ARRIVED = _Stage("appropriate_adult", "not_arrived", WARNING)
REVIEW_OVERDUE = _Stage("review_overdue", "overdue", WARNING)
LIMIT_APPROACHING = _Stage("detention_limit", "approaching", WARNING)
LIMIT_REACHED = _Stage("detention_limit", "limit", CRITICAL)
LA_REQUEST_MISSING = _Stage("la_request_missing", "missing", CRITICAL)
LA_REQUEST_ESCALATED = _Stage("la_request_missing", "escalated", CRITICAL)
LA_RESPONSE_OVERDUE = _Stage("la_response_overdue", "overdue", WARNING)
LA_REFUSED = _Stage("la_refused", "refused", CRITICAL)
TRANSFER_OVERDUE = _Stage("transfer_overdue", "overdue", CRITICAL)

STAGES: dict[str, _Stage] = {
    s.key: s
    for s in (
        UNDER_TEN,
        DURATION_APPROACHING,
        DURATION_BREACH,
        DURATION_PROLONGED,
        OVERNIGHT_AT_RISK,
        OVERNIGHT,
        AA_NOT_REQUESTED,
        AA_NOT_ARRIVED,
        REVIEW_OVERDUE,
        LIMIT_APPROACHING,
        LIMIT_REACHED,
        LA_REQUEST_MISSING,
        LA_REQUEST_ESCALATED,
        LA_RESPONSE_OVERDUE,
        LA_REFUSED,
        TRANSFER_OVERDUE,
    )
}
"""`rule/stage` -> its stage: how a fired alert's key is read back."""


def deadline_of(key: str, due: int) -> Deadline:
    """The deadline a fired alert key names (key: `rule/stage[/instance]`)."""
    rule, stage, *instance = key.split("/", 2)
    kind = STAGES[f"{rule}/{stage}"]
    return kind.instance(due, instance[0]) if instance else kind.at(due)


def _not_by(cancelled_at: int | None, due: int) -> bool:
    """True when no cancelling event occurred at or before `due`."""
    return cancelled_at is None or cancelled_at > due


def under_ten(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    age = ep.age_at_t0()
    if age is not None and age < rules.criminal_responsibility_age:
        yield UNDER_TEN.at(ep.t0)


def detention_duration(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    c = rules.detention_duration
    yield DURATION_APPROACHING.at(ep.t0 + c.approaching)
    yield DURATION_BREACH.at(ep.t0 + c.breach)
    yield DURATION_PROLONGED.at(ep.t0 + c.prolonged)


def overnight_hold(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    """Nights in the suite's zone, from the first whose window ends after T0.

    Nights are endless while the child is held, so this stops after the first
    night that still has an unfired stage: that is all a scheduler needs.
    """
    o, zone, t0 = rules.overnight, ep.zone, ep.t0
    night = local_date(t0, zone)
    if local_instant(night, o.window_end, zone) <= t0:
        night += timedelta(days=1)
    while True:
        name = night.isoformat()
        start = local_instant(night, o.window_start, zone)
        stages: list[Deadline] = []
        if t0 < start:
            warn = local_instant(night - timedelta(days=1), o.warning_at, zone)
            stages.append(OVERNIGHT_AT_RISK.instance(max(t0, warn), name))
        stages.append(OVERNIGHT.instance(max(t0, start), name))
        unfired = [d for d in stages if d.key not in ep.fired]
        yield from unfired
        if unfired:
            return
        night += timedelta(days=1)


def appropriate_adult(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    c = rules.appropriate_adult
    due = ep.t0 + c.not_requested
    if _not_by(ep.aa_requested, due):
        yield AA_NOT_REQUESTED.at(due)
    if ep.aa_requested is not None:
        due = ep.aa_requested + c.not_arrived
        if _not_by(ep.aa_arrived, due):
            yield AA_NOT_ARRIVED.at(due)


def review_overdue(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    """Review n is due T0 + first (n = 1) or review n-1 + interval; the n-th review cancels."""
    due = ep.t0 + rules.review.first
    for number, reviewed_at in enumerate(ep.reviews, start=1):
        if reviewed_at > due:
            yield REVIEW_OVERDUE.instance(due, str(number))
        due = reviewed_at + rules.review.interval
    yield REVIEW_OVERDUE.instance(due, str(len(ep.reviews) + 1))


def detention_limit(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    """PACE s.41: each limit (24h, then each extension) arms two stages from the relevant time."""
    c = rules.detention_limit
    limits = [(ep.t0, c.initial_hours), *ep.extensions]
    for index, (_, hours) in enumerate(limits):
        superseded = limits[index + 1][0] if index + 1 < len(limits) else None
        limit_at = ep.relevant_time + hours * HOUR_US
        for stage, due in (
            (LIMIT_APPROACHING, limit_at - c.warning_before),
            (LIMIT_REACHED, limit_at),
        ):
            if _not_by(ep.charged, due) and _not_by(superseded, due):
                yield stage.instance(due, str(hours))


def la_request_missing(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    c = rules.la_request
    if ep.bail_refused is None or ep.arrest_basis in c.exempt_arrest_bases:
        return
    first_request = ep.la_requests[0][0] if ep.la_requests else None
    answered = min((t for t in (first_request, ep.impracticable) if t is not None), default=None)
    for stage, offset in ((LA_REQUEST_MISSING, c.missing), (LA_REQUEST_ESCALATED, c.escalated)):
        due = ep.bail_refused + offset
        if _not_by(answered, due):
            yield stage.at(due)


def la_response_overdue(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    for number, (requested_at, _, _) in enumerate(ep.la_requests, start=1):
        due = requested_at + rules.la_response.overdue
        if not any(requested_at <= t <= due for t, _, _, _ in ep.la_responses):
            yield LA_RESPONSE_OVERDUE.instance(due, str(number))


def la_refused(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    for number, (at, accepted, _, _) in enumerate(ep.la_responses, start=1):
        if not accepted:
            yield LA_REFUSED.instance(at, str(number))


def transfer_overdue(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    accepted = next((t for t, ok, _, _ in ep.la_responses if ok), None)
    if accepted is not None:
        # transferred_to_la ends the episode, which cancels every rule at once.
        yield TRANSFER_OVERDUE.at(accepted + rules.transfer.overdue)


Rule = Callable[[Episode, RuleConfig], Iterator[Deadline]]


# --- when a raised alert is settled by a later event (it resolves) ----------------
# Each returns the occurred_at of the earliest event listed under "cancelled by"
# for the deadline, or None. Called only for alerts still live (not cancelled at
# or before due), so a time returned is after the due time. Rules that only the
# end of detention settles have none (under_ten, detention_duration,
# overnight_hold, la_refused, transfer_overdue: the transfer ends detention).


def _aa_settled(ep: Episode, d: Deadline) -> int | None:
    return ep.aa_requested if d.stage == "not_requested" else ep.aa_arrived


def _review_settled(ep: Episode, d: Deadline) -> int | None:
    number = int(d.instance or "1")
    return ep.reviews[number - 1] if len(ep.reviews) >= number else None


def _limit_settled(ep: Episode, d: Deadline) -> int | None:
    later = [t for t in (ep.charged, *(t for t, _ in ep.extensions)) if t is not None and t > d.due]
    return min(later, default=None)


def _la_request_settled(ep: Episode, d: Deadline) -> int | None:
    first_request = ep.la_requests[0][0] if ep.la_requests else None
    return min((t for t in (first_request, ep.impracticable) if t is not None), default=None)


def _la_response_settled(ep: Episode, d: Deadline) -> int | None:
    number = int(d.instance or "1")
    if len(ep.la_requests) < number:
        return None
    requested_at = ep.la_requests[number - 1][0]
    return min((t for t, *_ in ep.la_responses if t >= requested_at), default=None)


Settled = Callable[[Episode, Deadline], int | None]

RULES: tuple[Rule, ...] = (
    under_ten,
    detention_duration,
    overnight_hold,
    appropriate_adult,
    review_overdue,
    detention_limit,
    la_request_missing,
    la_response_overdue,
    la_refused,
    transfer_overdue,
)

ALL_RULES = tuple(range(len(RULES)))

SETTLED_BY: dict[str, Settled] = {
    "appropriate_adult": _aa_settled,
    "review_overdue": _review_settled,
    "detention_limit": _limit_settled,
    "la_request_missing": _la_request_settled,
    "la_response_overdue": _la_response_settled,
}
RULE_INDEX: dict[str, int] = {rule.__name__: index for index, rule in enumerate(RULES)}


def _indexes(*rules: Rule) -> tuple[int, ...]:
    return tuple(RULES.index(rule) for rule in rules)


# Which rules an event type can change: only those are re-evaluated.
AFFECTED_BY: dict[str, tuple[int, ...]] = {
    "detention_authorised": ALL_RULES,
    "age_established": ALL_RULES,
    "appropriate_adult_requested": _indexes(appropriate_adult),
    "appropriate_adult_arrived": _indexes(appropriate_adult),
    "detention_reviewed": _indexes(review_overdue),
    "detention_extended": _indexes(detention_limit),
    "charged": _indexes(detention_limit),
    "bail_refused": _indexes(la_request_missing),
    "la_accommodation_requested": _indexes(la_request_missing, la_response_overdue),
    "la_accommodation_response": _indexes(la_response_overdue, la_refused, transfer_overdue),
    "transfer_impracticable_certified": _indexes(la_request_missing),
    "transferred_to_suite": (),
    "released": (),
    "transferred_to_la": (),
}


def unfired(ep: Episode, index: int, rules: RuleConfig) -> list[Deadline]:
    return [d for d in RULES[index](ep, rules) if d.key not in ep.fired]


def next_unfired_due(ep: Episode, index: int, rules: RuleConfig) -> int | None:
    """The earliest due time among a rule's live, unfired deadlines."""
    fired, earliest = ep.fired, None
    for d in RULES[index](ep, rules):
        if d.key not in fired and (earliest is None or d.due < earliest):
            earliest = d.due
    return earliest


def pending_deadlines(ep: Episode, rules: RuleConfig) -> list[Deadline]:
    """Live deadlines that have not fired. Rules apply to juveniles only."""
    if not ep.juvenile:
        return []
    return [d for index in ALL_RULES for d in unfired(ep, index, rules)]
