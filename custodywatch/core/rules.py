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


def deadline(due: int, rule: str, stage: str, instance: str | None, severity: Severity) -> Deadline:
    key = f"{rule}/{stage}" if instance is None else f"{rule}/{stage}/{instance}"
    return Deadline(due, key, rule, stage, instance, severity)


def _not_by(cancelled_at: int | None, due: int) -> bool:
    """True when no cancelling event occurred at or before `due`."""
    return cancelled_at is None or cancelled_at > due


def under_ten(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    age = ep.age_at_t0()
    if age is not None and age < rules.criminal_responsibility_age:
        yield deadline(ep.t0, "under_ten", "detained", None, CRITICAL)


def detention_duration(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    c = rules.detention_duration
    yield deadline(ep.t0 + c.approaching, "detention_duration", "approaching", None, WARNING)
    yield deadline(ep.t0 + c.breach, "detention_duration", "breach", None, CRITICAL)
    yield deadline(ep.t0 + c.prolonged, "detention_duration", "prolonged", None, CRITICAL)


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
            stages.append(deadline(max(t0, warn), "overnight_hold", "at_risk", name, WARNING))
        stages.append(deadline(max(t0, start), "overnight_hold", "overnight", name, CRITICAL))
        unfired = [d for d in stages if d.key not in ep.fired]
        yield from unfired
        if unfired:
            return
        night += timedelta(days=1)


def appropriate_adult(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    c = rules.appropriate_adult
    due = ep.t0 + c.not_requested
    if _not_by(ep.aa_requested, due):
        yield deadline(due, "appropriate_adult", "not_requested", None, WARNING)
    if ep.aa_requested is not None:
        due = ep.aa_requested + c.not_arrived
        if _not_by(ep.aa_arrived, due):
            yield deadline(due, "appropriate_adult", "not_arrived", None, WARNING)


def review_overdue(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    """Review n is due T0 + first (n = 1) or review n-1 + interval; the n-th review cancels."""
    due = ep.t0 + rules.review.first
    for number, reviewed_at in enumerate(ep.reviews, start=1):
        if reviewed_at > due:
            yield deadline(due, "review_overdue", "overdue", str(number), WARNING)
        due = reviewed_at + rules.review.interval
    yield deadline(due, "review_overdue", "overdue", str(len(ep.reviews) + 1), WARNING)


def detention_limit(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    """PACE s.41: each limit (24h, then each extension) arms two stages from the relevant time."""
    c = rules.detention_limit
    limits = [(ep.t0, c.initial_hours), *ep.extensions]
    for index, (_, hours) in enumerate(limits):
        superseded = limits[index + 1][0] if index + 1 < len(limits) else None
        limit_at = ep.relevant_time + hours * HOUR_US
        for stage, due, severity in (
            ("approaching", limit_at - c.warning_before, WARNING),
            ("limit", limit_at, CRITICAL),
        ):
            if _not_by(ep.charged, due) and _not_by(superseded, due):
                yield deadline(due, "detention_limit", stage, str(hours), severity)


def la_request_missing(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    c = rules.la_request
    if ep.bail_refused is None or ep.arrest_basis in c.exempt_arrest_bases:
        return
    first_request = ep.la_requests[0][0] if ep.la_requests else None
    answered = min((t for t in (first_request, ep.impracticable) if t is not None), default=None)
    for stage, offset in (("missing", c.missing), ("escalated", c.escalated)):
        due = ep.bail_refused + offset
        if _not_by(answered, due):
            yield deadline(due, "la_request_missing", stage, None, CRITICAL)


def la_response_overdue(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    for number, (requested_at, _) in enumerate(ep.la_requests, start=1):
        due = requested_at + rules.la_response.overdue
        if not any(requested_at <= t <= due for t, _, _ in ep.la_responses):
            yield deadline(due, "la_response_overdue", "overdue", str(number), WARNING)


def la_refused(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    for number, (at, accepted, _) in enumerate(ep.la_responses, start=1):
        if not accepted:
            yield deadline(at, "la_refused", "refused", str(number), CRITICAL)


def transfer_overdue(ep: Episode, rules: RuleConfig) -> Iterator[Deadline]:
    accepted = next((t for t, ok, _ in ep.la_responses if ok), None)
    if accepted is not None:
        # transferred_to_la ends the episode, which cancels every rule at once.
        yield deadline(
            accepted + rules.transfer.overdue, "transfer_overdue", "overdue", None, CRITICAL
        )


Rule = Callable[[Episode, RuleConfig], Iterator[Deadline]]

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
