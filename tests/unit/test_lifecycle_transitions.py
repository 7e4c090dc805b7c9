"""Resolve, retract, acknowledge, and their races: one row per transition."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lifecycle_kit import POLICY, ROUTING, T0, alert, at, closed, told

from custodywatch.lifecycle.case import Case, Decision
from custodywatch.lifecycle.decide import advance, on_ack, on_due, on_record

SGT = "suite/perry-barr/custody_sergeant"
INSP = "suite/perry-barr/duty_inspector"
SUPT = "force/superintendent"
RAISED = alert()


def escalated_to(minutes: float) -> Case:
    return advance(
        on_record(None, RAISED, T0, POLICY, ROUTING).case, at(minutes), POLICY, ROUTING
    ).case


def record(state: str, minutes: float) -> Callable[[Case], Decision]:
    if state == "raised":
        return lambda case: on_record(case, RAISED, at(minutes), POLICY, ROUTING)
    assert state in ("resolved", "retracted")
    rec = closed(RAISED, "resolved" if state == "resolved" else "retracted", at(minutes))
    return lambda case: on_record(case, rec, at(minutes), POLICY, ROUTING)


TRANSITIONS = [
    # (name, case escalated up to minute, steps to apply, expected notices of the last, state, next_at)
    ("raised re-delivered: no-op", 0, [record("raised", 1)], set(), "raised", at(15)),
    (
        "resolved before +15: sergeant told, step 1 cancelled",
        0,
        [record("resolved", 10)],
        {(0, SGT, "resolved")},
        "resolved",
        None,
    ),
    (
        "retracted after escalation: everyone told once",
        45,
        [record("retracted", 50)],
        {(2, SGT, "retracted"), (2, INSP, "retracted"), (2, SUPT, "retracted")},
        "retracted",
        None,
    ),
    (
        "resolved re-delivered: no-op",
        15,
        [record("resolved", 20), record("resolved", 21)],
        set(),
        "resolved",
        None,
    ),
    (
        "raised re-delivered after resolve: no-op",
        15,
        [record("resolved", 20), record("raised", 21)],
        set(),
        "resolved",
        None,
    ),
    (
        "retracted after resolved: everyone told it was retracted",
        15,
        [record("resolved", 20), record("retracted", 30)],
        {(1, SGT, "retracted"), (1, INSP, "retracted")},
        "retracted",
        None,
    ),
    (
        "resolved after retracted: no-op",
        15,
        [record("retracted", 20), record("resolved", 30)],
        set(),
        "retracted",
        None,
    ),
    (
        "due after resolve: no-op",
        0,
        [record("resolved", 10), lambda c: on_due(c, at(15), POLICY, ROUTING)],
        set(),
        "resolved",
        None,
    ),
]


@pytest.mark.parametrize(
    ("upto", "steps", "expected", "state", "next_at"),
    [row[1:] for row in TRANSITIONS],
    ids=[row[0] for row in TRANSITIONS],
)
def test_transitions(
    upto: float,
    steps: list[Callable[[Case], Decision]],
    expected: set[tuple[int, str, str]],
    state: str,
    next_at: int | None,
) -> None:
    case = escalated_to(upto)
    decision = Decision(case)
    for step in steps:
        decision = step(decision.case)
    assert told(decision) == expected
    assert decision.case.record.state == state
    assert decision.next_at == next_at


def test_resolve_logs_the_cancelled_step_and_the_evidence() -> None:
    d = record("resolved", 10)(escalated_to(0))
    entry = d.log[0]
    assert (entry.kind, entry.at) == ("resolved", at(10))
    assert entry.details["cancelled_step"] == "1"
    assert entry.details["evidence_event_id"] == "e-99"
    assert [e.kind for e in d.log] == ["resolved", "notified"]


def test_first_record_seen_is_a_resolve_nobody_is_told() -> None:
    d = on_record(None, closed(RAISED, "resolved", at(10)), at(10), POLICY, ROUTING)
    assert d.notifications == ()
    assert d.case.record.state == "resolved"
    assert "nobody had been told" in d.log[0].details["first_seen"]


ACKS = [
    ("custody sergeant of the suite", "suite/perry-barr/custody_sergeant", "acknowledged"),
    ("duty inspector of the suite", "suite/perry-barr/duty_inspector", "acknowledged"),
    ("superintendent", "force/superintendent", "acknowledged"),
    ("home LA out-of-hours team", "la/birmingham/out_of_hours", "acknowledged"),
    ("another suite's sergeant", "suite/oldbury/custody_sergeant", "refused"),
    ("another LA", "la/dudley/out_of_hours", "refused"),
    ("a suite role under la/", "la/birmingham/custody_sergeant", "refused"),
    ("not a role", "admin", "refused"),
]


@pytest.mark.parametrize(("role", "outcome"), [r[1:] for r in ACKS], ids=[r[0] for r in ACKS])
def test_who_may_acknowledge(role: str, outcome: str) -> None:
    case = escalated_to(5)
    d = on_ack(case, "user-7", role, None, at(5))
    assert d.ack == outcome
    assert d.notifications == ()
    if outcome == "refused":
        assert d.case == case and d.reason
        assert d.log[0].kind == "ack_refused"
    else:
        assert d.case.ack is not None and d.case.next_at is None
        assert d.log[0].details["cancelled_step"] == "1"


def test_ack_stops_escalation_but_does_not_resolve_and_an_old_timer_is_a_no_op() -> None:
    acked = on_ack(escalated_to(15), "user-7", SGT, None, at(20)).case
    assert acked.record.state == "raised"
    assert on_due(acked, at(45), POLICY, ROUTING) == Decision(acked)  # the timer set before the ack


def test_acking_twice_is_a_no_op() -> None:
    first = on_ack(escalated_to(5), "user-7", SGT, None, at(6))
    again = on_ack(first.case, "user-8", INSP, None, at(7))
    assert again.case == first.case
    assert (again.ack, again.log) == ("already_acknowledged", ())
    assert again.reason is not None and "user-7" in again.reason


def test_ack_at_the_instant_a_step_is_due_wins_when_it_is_processed_first() -> None:
    acked = on_ack(escalated_to(0), "user-7", SGT, None, at(15))
    assert told(on_due(acked.case, at(15), POLICY, ROUTING)) == set()


def test_a_step_processed_before_an_ack_at_the_same_instant_stands_and_the_ack_stops_the_rest() -> (
    None
):
    stepped = on_due(escalated_to(0), at(15), POLICY, ROUTING)
    assert told(stepped) == {(1, INSP, "escalated")}
    acked = on_ack(stepped.case, "user-7", SGT, None, at(15))
    assert told(advance(acked.case, at(600), POLICY, ROUTING)) == set()


def test_ack_and_resolve_in_either_order_end_the_same() -> None:
    case = escalated_to(15)
    resolve = record("resolved", 20)
    a_first = on_ack(case, "user-7", SGT, None, at(20))
    a_then_r = resolve(a_first.case)
    r_first = resolve(case)
    r_then_a = on_ack(r_first.case, "user-7", SGT, None, at(20))
    assert a_then_r.case == r_then_a.case
    assert told(a_then_r) == told(r_first) == {(1, SGT, "resolved"), (1, INSP, "resolved")}
    assert r_then_a.ack == "already_closed" and r_then_a.notifications == ()
    assert r_then_a.reason is not None and "already resolved" in r_then_a.reason


def test_an_ack_does_not_hide_later_events() -> None:
    ack = on_ack(escalated_to(15), "user-7", SGT, "spoke to the LA", at(16))
    acked = ack.case
    assert ack.log[0].details["note"] == "yes"
    resolved = record("resolved", 30)(acked)
    assert told(resolved) == {(1, SGT, "resolved"), (1, INSP, "resolved")}
    assert "acknowledged by the suite/perry-barr/custody_sergeant" in resolved.notifications[0].text
    # The note is the user's free text: kept in the case, never in a notice or the log.
    assert all("spoke" not in n.text for n in resolved.notifications)
    assert acked.ack is not None and acked.ack.note == "spoke to the LA"
    # Another alert of the same child escalates on its own.
    other = on_record(None, alert(stage="prolonged"), at(16), POLICY, ROUTING)
    assert told(other) == {(0, SGT, "raised")}


def test_an_acknowledged_case_never_escalates_whatever_its_stored_timer_says() -> None:
    acked = on_ack(escalated_to(0), "user-7", SGT, None, at(5)).case
    stale = acked.with_(next_step=1, next_at=at(15))
    assert on_due(stale, at(15), POLICY, ROUTING) == Decision(stale)


def test_routing_changed_since_they_were_told_the_closing_notice_goes_to_the_role_now() -> None:
    case = escalated_to(0)
    smaller = ROUTING.model_copy(
        update={"suites": {k: v for k, v in ROUTING.suites.items() if k != "perry-barr"}}
    )
    d = on_record(case, closed(RAISED, "resolved", at(5)), at(5), POLICY, smaller)
    assert told(d) == {(0, "force/fallback", "resolved")}
