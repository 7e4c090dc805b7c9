"""The escalation ladder, one row per ladder row: who is told, when, with which key."""

from __future__ import annotations

import json

import pytest
from lifecycle_kit import POLICY, ROUTING, T0, alert, at, told

from custodywatch.contract.alerts import AlertRecord
from custodywatch.lifecycle.case import Case, Decision
from custodywatch.lifecycle.decide import advance, on_due, on_record

SGT = "suite/perry-barr/custody_sergeant"
INSP = "suite/perry-barr/duty_inspector"
SUPT = "force/superintendent"
OOH = "la/birmingham/out_of_hours"
FALLBACK = "force/fallback"


def run(record: AlertRecord, minutes: float) -> tuple[Case, set[tuple[int, str, str]]]:
    """Raise at T0, then take every step due up to T0 + minutes."""
    first = on_record(None, record, T0, POLICY, ROUTING)
    later = advance(first.case, at(minutes), POLICY, ROUTING)
    return later.case, told(first) | told(later)


CRITICAL = alert()
WARNING = alert("detention_duration", "approaching", "warning")

LADDER = [
    ("critical at raise", CRITICAL, 0, {(0, SGT, "raised")}),
    ("critical just before +15", CRITICAL, 14.99, {(0, SGT, "raised")}),
    ("critical +15 inspector", CRITICAL, 15, {(0, SGT, "raised"), (1, INSP, "escalated")}),
    (
        "critical +45 superintendent",
        CRITICAL,
        45,
        {(0, SGT, "raised"), (1, INSP, "escalated"), (2, SUPT, "escalated")},
    ),
    (
        "critical +105 first repeat",
        CRITICAL,
        105,
        {
            (0, SGT, "raised"),
            (1, INSP, "escalated"),
            (2, SUPT, "escalated"),
            (3, SUPT, "escalated"),
        },
    ),
    ("warning at raise", WARNING, 0, {(0, SGT, "raised")}),
    ("warning +29", WARNING, 29, {(0, SGT, "raised")}),
    ("warning +30 inspector", WARNING, 30, {(0, SGT, "raised"), (1, INSP, "escalated")}),
    ("warning ends", WARNING, 600, {(0, SGT, "raised"), (1, INSP, "escalated")}),
    (
        "la_request_missing/missing: + LA out of hours",
        alert("la_request_missing", "missing"),
        0,
        {(0, SGT, "raised"), (0, OOH, "raised")},
    ),
    (
        "la_request_missing/escalated: + out of hours + inspector",
        alert("la_request_missing", "escalated"),
        0,
        {(0, SGT, "raised"), (0, OOH, "raised"), (0, INSP, "raised")},
    ),
    (
        "la_response_overdue (warning): + out of hours",
        alert("la_response_overdue", "overdue", "warning"),
        0,
        {(0, SGT, "raised"), (0, OOH, "raised")},
    ),
    (
        "la_refused: + out of hours + inspector",
        alert("la_refused", "refused"),
        0,
        {(0, SGT, "raised"), (0, OOH, "raised"), (0, INSP, "raised")},
    ),
    (
        "transfer_overdue: + out of hours + inspector",
        alert("transfer_overdue", "overdue"),
        0,
        {(0, SGT, "raised"), (0, OOH, "raised"), (0, INSP, "raised")},
    ),
    (
        "s.38(6) inspector told at raise is reminded at +15",
        alert("la_refused", "refused"),
        15,
        {(0, SGT, "raised"), (0, OOH, "raised"), (0, INSP, "raised"), (1, INSP, "escalated")},
    ),
    (
        "other LA",
        alert("la_refused", "refused", la="dudley"),
        0,
        {(0, SGT, "raised"), (0, "la/dudley/out_of_hours", "raised"), (0, INSP, "raised")},
    ),
    (
        "unknown suite: the force fallback, at every step",
        alert(suite="digbeth"),
        15,
        {(0, FALLBACK, "raised"), (1, FALLBACK, "escalated")},
    ),
    (
        "unknown LA: the fallback stands in for the out-of-hours team",
        alert("la_request_missing", "missing", la="narnia"),
        0,
        {(0, SGT, "raised"), (0, FALLBACK, "raised")},
    ),
    (
        "unknown suite and LA: the fallback is told once per step",
        alert("la_refused", "refused", suite="digbeth", la="narnia"),
        0,
        {(0, FALLBACK, "raised")},
    ),
]


@pytest.mark.parametrize(
    ("record", "minutes", "expected"), [row[1:] for row in LADDER], ids=[row[0] for row in LADDER]
)
def test_ladder(record: AlertRecord, minutes: float, expected: set[tuple[int, str, str]]) -> None:
    _, got = run(record, minutes)
    assert got == expected


@pytest.mark.parametrize(
    ("record", "minutes", "next_step", "next_minutes"),
    [
        (CRITICAL, 0, 1, 15),
        (CRITICAL, 15, 2, 45),
        (CRITICAL, 45, 3, 105),
        (CRITICAL, 105, 4, 165),
        (WARNING, 0, 1, 30),
        (WARNING, 30, None, None),
    ],
)
def test_next_step_and_its_time(
    record: AlertRecord, minutes: float, next_step: int | None, next_minutes: int | None
) -> None:
    case, _ = run(record, minutes)
    assert case.next_step == next_step
    assert case.next_at == (None if next_minutes is None else at(next_minutes))


def test_critical_repeats_until_stopped_and_an_outage_sends_one_repeat_not_a_burst() -> None:
    case, _ = run(CRITICAL, 45)
    late = on_due(case, at(400), POLICY, ROUTING)  # repeats were due at 105, 165, ..., 345
    assert told(late) == {(7, SUPT, "escalated")}
    assert late.log[0].details["repeats_skipped"] == "4"
    assert (late.case.next_step, late.case.next_at) == (8, at(405))
    again = on_due(late.case, at(405), POLICY, ROUTING)
    assert told(again) == {(8, SUPT, "escalated")}


def test_a_step_is_never_taken_twice() -> None:
    case, _ = run(CRITICAL, 15)
    assert on_due(case, at(15), POLICY, ROUTING) == Decision(case)
    assert on_due(case, at(30), POLICY, ROUTING) == Decision(case)  # not yet due: step 2 at 45


def test_escalation_time_counts_from_raised_at_not_from_now() -> None:
    # A raise processed 20 minutes late (consumer lag): the inspector step is already due.
    first = on_record(None, CRITICAL, at(20), POLICY, ROUTING)
    assert first.case.next_at == at(15)
    assert told(advance(first.case, at(20), POLICY, ROUTING)) == {(1, INSP, "escalated")}


def test_idempotency_keys_are_stable_and_per_channel_notices_share_them() -> None:
    first = on_record(None, alert("la_refused", "refused"), T0, POLICY, ROUTING)
    keys = sorted({n.idempotency_key for n in first.notifications})
    assert keys == [
        f"CR1/la_refused/refused/0/{OOH}/raised",
        f"CR1/la_refused/refused/0/{SGT}/raised",
        f"CR1/la_refused/refused/0/{INSP}/raised",
    ]
    sergeant = [n for n in first.notifications if n.recipient == SGT]
    assert sorted(n.channel for n in sergeant) == ["email", "webhook"]
    assert on_record(None, alert("la_refused", "refused"), T0, POLICY, ROUTING) == first


def test_case_round_trips_through_json_and_carries_on_the_same() -> None:
    case, _ = run(CRITICAL, 15)
    stored = Case.from_dict(json.loads(json.dumps(case.to_dict())))
    assert stored == case
    assert on_due(stored, at(45), POLICY, ROUTING) == on_due(case, at(45), POLICY, ROUTING)


def test_fallback_is_said_in_the_notice_and_the_log() -> None:
    first = on_record(
        None, alert("la_refused", "refused", suite="digbeth", la="narnia"), T0, POLICY, ROUTING
    )
    text = first.notifications[0].text
    assert "suite 'digbeth' is not in the routing file" in text
    assert "la 'narnia' is not in the routing file" in text
    notified = [e for e in first.log if e.kind == "notified"]
    assert [e.recipient for e in notified] == [FALLBACK]
    assert notified[0].details["roles"] == "custody_sergeant,out_of_hours,duty_inspector"
    assert "digbeth" in notified[0].details["fallback"]


def test_notices_carry_only_pseudonymous_facts() -> None:
    n = on_record(None, CRITICAL, T0, POLICY, ROUTING).notifications[0]
    assert n.subject == "[CRITICAL] raised: detention_duration/breach - CR1 at perry-barr"
    assert "P-001" in n.text and "home local authority birmingham" in n.text
    assert n.created_at == "2026-03-01T18:00:00Z"
    assert n.alerts[0].alert_id == "CR1/detention_duration/breach"
