"""Raised alerts that later evidence settles: `resolved` or `retracted`. Pure.

After an event is applied, each of the episode's standing alerts (raised, not
yet settled) that the event could affect is looked at again:

- **retracted**: the evidence shows it should never have fired: a cancelling
  event with occurred_at at or before the due time (recorded late), or an age
  correction showing the rule did not apply at T0;
- **resolved**: a cancelling event after the due time, or the end of detention.

`under_ten`, `la_refused` and `overnight_hold` resolve only when detention ends.
Each alert settles once: it leaves the standing list, and its key stays fired.
"""

from __future__ import annotations

from typing import Literal

from custodywatch.core.clock import format_span, local_hhmm
from custodywatch.core.config import RuleConfig
from custodywatch.core.episode import Episode, Standing
from custodywatch.core.rules import (
    AFFECTED_BY,
    ALL_RULES,
    RULE_INDEX,
    RULES,
    SETTLED_BY,
    Deadline,
    deadline_of,
)

Settlement = Literal["resolved", "retracted"]
RESOLVED: Settlement = "resolved"
RETRACTED: Settlement = "retracted"
ENDS_DETENTION = frozenset({"released", "transferred_to_la"})

# overnight_hold yields only unfired nights, so liveness cannot be read from it;
# nothing but the end of detention (or an adult's age) settles it anyway.
_END_ONLY = frozenset({"overnight_hold"})


def settle(ep: Episode, kind: str, at: int, rules: RuleConfig) -> list[tuple[Standing, Settlement]]:
    """The standing alerts that the event just applied (`kind`, occurred `at`) settles."""
    standing = ep.standing
    if not standing:
        return []
    if kind in ENDS_DETENTION:
        return [(s, RETRACTED if at <= s[1] else RESOLVED) for s in standing]
    if kind == "age_established":
        if not ep.juvenile:
            return [(s, RETRACTED) for s in standing]
        affected = ALL_RULES
    else:
        affected = AFFECTED_BY[kind]
    names = {RULES[index].__name__ for index in affected}
    live: dict[str, set[str]] = {}
    out: list[tuple[Standing, Settlement]] = []
    for entry in standing:
        key, due, _ = entry
        rule = key.split("/", 1)[0]
        if rule not in names or rule in _END_ONLY:
            continue
        if rule not in live:
            live[rule] = {d.key for d in RULES[RULE_INDEX[rule]](ep, rules)}
        if key not in live[rule]:
            out.append((entry, RETRACTED))
            continue
        settled = SETTLED_BY.get(rule)
        if settled is not None and settled(ep, deadline_of(key, due)) is not None:
            out.append((entry, RESOLVED))
    return out


_EVIDENCE = {
    "released": "released",
    "transferred_to_la": "transferred to the local authority",
    "appropriate_adult_requested": "appropriate adult requested",
    "appropriate_adult_arrived": "appropriate adult arrived",
    "detention_reviewed": "detention reviewed",
    "detention_extended": "detention extended",
    "charged": "charged",
    "la_accommodation_requested": "LA accommodation requested",
    "la_accommodation_response": "LA answered the accommodation request",
    "transfer_impracticable_certified": "transfer certified impracticable",
}


def _late(us: int) -> str:
    minutes = max(us, 0) // 60_000_000
    return f"{minutes} min" if minutes < 60 else format_span(us)


def settlement_summary(
    ep: Episode,
    d: Deadline,
    state: Settlement,
    kind: str,
    at: int,
    known_at: int,
    rules: RuleConfig,
) -> str:
    """Why the alert settled, in one line: `known_at` is when the evidence was recorded."""
    if kind == "age_established":
        age = ep.age_at_t0()
        if not ep.juvenile:
            return f"Retracted: age established as {age} at detention, not a child"
        return f"Retracted: age established as {age} at detention, not under {rules.criminal_responsibility_age}"
    what = _EVIDENCE.get(kind, kind.replace("_", " "))
    when = f"{what} at {local_hhmm(at, ep.zone)} ({format_span(at - ep.t0)} held)"
    if state == RETRACTED:
        return f"Retracted: {when}, recorded {_late(known_at - at)} late; the alert should not have been raised"
    return f"Resolved: {when}, {_late(at - d.due)} after the alert was due"
