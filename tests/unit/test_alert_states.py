"""Alert states: the engine resolves and retracts what it raised, each exactly once.

`resolved`: a cancelling event after the due time, or the end of detention.
`retracted`: late evidence at or before the due time, or an age correction
showing the rule never applied. Late evidence is fed here as a live stream
delivers it: after the clock has passed the due time.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from builders import Episode, dumps, replay

from custodywatch.contract.alerts import AlertRecord
from custodywatch.contract.events import CustodyEvent
from custodywatch.contract.rejects import Reject, RejectReason, decode
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig
from custodywatch.core.engine import Engine, Outcome
from custodywatch.core.engine_state import restore, snapshot
from custodywatch.replay import standing

T0 = "2026-03-01T12:00:00+00:00"  # 12:00 in London (GMT)
CHILD = "2011-05-01"


def child(**kwargs: object) -> Episode:
    kwargs.setdefault("dob", CHILD)
    return Episode("CR1", T0, **kwargs)  # type: ignore[arg-type]


def run(ep: Episode, clock_to: str, late: list[int], until: str | None = None) -> list[AlertRecord]:
    """Feed every event but the `late` ones in time order, move the clock to `clock_to`,
    then deliver the late ones (in the given order); `until` advances the clock at the end."""
    engine = Engine(RuleConfig())
    records: list[AlertRecord] = []
    lines = ep.lines()
    on_time = [line for i, line in enumerate(lines) if i not in late]
    for line in on_time:
        records += engine.process(_event(line))[0]
    records += engine.advance(to_us(ep.time(clock_to)))
    for i in late:
        records += engine.process(_event(lines[i]))[0]
    if until is not None:
        records += engine.advance(to_us(ep.time(until)))
    return records


def _event(line: bytes) -> CustodyEvent:
    event = decode(line)
    assert not isinstance(event, Reject), event
    return event


def states(records: list[AlertRecord], alert_id: str) -> list[str]:
    return [r.state for r in records if r.alert_id == alert_id]


def settled(records: list[AlertRecord]) -> dict[str, str]:
    """alert_id -> its settlement, asserting each alert settled at most once."""
    out: dict[str, str] = {}
    for r in records:
        if r.state != "raised":
            assert r.alert_id not in out, f"{r.alert_id} settled twice"
            out[r.alert_id] = r.state
    return out


# --- retracted: late evidence at or before the due time ---------------------------------------


def test_release_before_the_breach_recorded_late_retracts_it_once() -> None:
    ep = child().at("+30m", "appropriate_adult_requested").at("+1h", "appropriate_adult_arrived")
    ep.at("+5h58m", "released")
    records = run(ep, "+6h10m", late=[3])
    breach = "CR1/detention_duration/breach"
    assert states(records, breach) == ["raised", "retracted"]
    retraction = next(r for r in records if r.alert_id == breach and r.state == "retracted")
    assert retraction.evidence_event_id == ep.events[3]["event_id"]
    assert retraction.state_at == "2026-03-01T17:58:00Z"
    assert retraction.due_at == "2026-03-01T18:00:00Z"
    assert retraction.summary == (
        "Retracted: released at 17:58 (5h 58m held), recorded 12 min late; "
        "the alert should not have been raised"
    )
    # approaching (due +5h) was true when raised: the release resolves it.
    assert settled(records)["CR1/detention_duration/approaching"] == "resolved"
    assert settled(records)["CR1/review_overdue/overdue/1"] == "retracted"  # due +6h too
    assert breach not in {a.alert_id for a in standing(records)}


def test_recorded_at_says_how_late_the_evidence_was() -> None:
    ep = child().at("+5h58m", "released")
    ep.events[-1]["recorded_at"] = ep.time("+6h08m").isoformat()
    records = run(ep, "+9h", late=[1])
    retraction = next(r for r in records if r.state == "retracted")
    assert "recorded 10 min late" in retraction.summary


@pytest.mark.parametrize(
    ("alert_id", "evidence", "clock_to"),
    [
        (
            "CR1/appropriate_adult/not_requested",
            ("+50m", "appropriate_adult_requested", {}),
            "+70m",
        ),
        ("CR1/review_overdue/overdue/1", ("+5h50m", "detention_reviewed", {}), "+6h30m"),
        ("CR1/detention_limit/approaching/24", ("+19h", "charged", {}), "+21h"),
        (
            "CR1/detention_limit/limit/24",
            ("+23h", "detention_extended", {"new_limit_hours": 36}),
            "+25h",
        ),
    ],
)
def test_a_cancelling_event_at_or_before_due_recorded_late_retracts(
    alert_id: str, evidence: tuple[str, str, dict[str, object]], clock_to: str
) -> None:
    ep = child(arrived_at="-30m").at("+10m", "appropriate_adult_requested")
    ep.at("+20m", "appropriate_adult_arrived")
    when, kind, payload = evidence
    if kind == "appropriate_adult_requested":  # the only request, made at +50m
        ep = child().at(when, kind)
    else:
        ep.at(when, kind, **payload)
    records = run(ep, clock_to, late=[len(ep.events) - 1])
    assert states(records, alert_id) == ["raised", "retracted"]


def test_exactly_at_the_due_time_is_on_time_so_it_retracts() -> None:
    ep = child().at("+1h", "appropriate_adult_requested")  # due at T0 + 1h exactly
    records = run(ep, "+2h", late=[1])
    assert states(records, "CR1/appropriate_adult/not_requested") == ["raised", "retracted"]


def test_la_request_before_the_deadline_recorded_late_retracts_both_stages() -> None:
    ep = child().at("+2h", "charged").at("+3h", "bail_refused")
    ep.at("+3h50m", "la_accommodation_requested")
    records = run(ep, "+5h30m", late=[3])
    assert settled(records)["CR1/la_request_missing/missing"] == "retracted"
    assert settled(records)["CR1/la_request_missing/escalated"] == "retracted"


def test_age_correction_to_an_adult_retracts_every_standing_alert() -> None:
    ep = child().at("+7h", "age_established", date_of_birth="2000-01-01")
    records = run(ep, "+6h30m", late=[], until="+8h")
    raised = {r.alert_id for r in records if r.state == "raised"}
    assert {"CR1/detention_duration/breach", "CR1/appropriate_adult/not_requested"} <= raised
    assert settled(records) == dict.fromkeys(raised, "retracted")
    summary = next(r.summary for r in records if r.state == "retracted")
    assert summary == "Retracted: age established as 26 at detention, not a child"


def test_under_ten_is_retracted_when_the_child_turns_out_older() -> None:
    ep = Episode("CR1", T0, dob="2017-06-01").at(
        "+2h", "age_established", date_of_birth="2013-06-01"
    )
    records = run(ep, "+1h", late=[], until="+3h")
    assert states(records, "CR1/under_ten/detained") == ["raised", "retracted"]
    assert settled(records).get("CR1/appropriate_adult/not_requested") is None  # still a child


# --- resolved: a cancelling event after the due time, or the end of detention -----------------


@pytest.mark.parametrize(
    ("alert_id", "event", "at"),
    [
        ("CR1/appropriate_adult/not_requested", ("appropriate_adult_requested", {}), "+90m"),
        ("CR1/review_overdue/overdue/1", ("detention_reviewed", {}), "+6h30m"),
        ("CR1/detention_limit/limit/24", ("charged", {}), "+24h"),
    ],
)
def test_a_cancelling_event_after_due_resolves(
    alert_id: str, event: tuple[str, dict[str, object]], at: str
) -> None:
    ep = child(arrived_at="-30m")
    kind, payload = event
    if kind != "appropriate_adult_requested":
        ep.at("+10m", "appropriate_adult_requested").at("+20m", "appropriate_adult_arrived")
    ep.at(at, kind, **payload)
    got = replay(ep.lines(), until=ep.time("+25h"))
    assert got.states(alert_id) == ["raised", "resolved"]
    resolved = [r for r in got.result.history if r.alert_id == alert_id][-1]
    assert resolved.evidence_event_id == ep.events[-1]["event_id"]
    assert resolved.summary.startswith("Resolved: ")


def test_release_after_the_breach_resolves_it_once_and_says_how_long_after() -> None:
    ep = child().at("+30m", "appropriate_adult_requested").at("+1h", "appropriate_adult_arrived")
    ep.at("+6h40m", "released").at("+6h40m", "released", event_id="CR1-e004")  # redelivered
    got = replay(ep.lines())
    assert got.states("CR1/detention_duration/breach") == ["raised", "resolved"]
    record = [r for r in got.result.history if r.state == "resolved"][-1]
    assert "Resolved: released at 18:40 (6h 40m held)" in record.summary
    breach = next(
        r for r in got.result.history if r.alert_id.endswith("breach") and r.state == "resolved"
    )
    assert breach.summary.endswith("40 min after the alert was due")
    assert settled(got.result.history)  # each at most once


def test_la_request_after_the_deadline_resolves_and_the_second_request_settles_nothing() -> None:
    ep = child().at("+2h", "charged").at("+3h", "bail_refused")
    ep.at("+4h30m", "la_accommodation_requested").at("+4h40m", "la_accommodation_requested")
    got = replay(ep.lines(), until=ep.time("+4h45m"))
    assert got.states("CR1/la_request_missing/missing") == ["raised", "resolved"]
    assert got.states("CR1/la_request_missing/escalated") == []  # due +5h: cancelled in time


def test_la_response_after_the_deadline_resolves_the_overdue_request() -> None:
    ep = child().at("+2h", "charged").at("+3h", "bail_refused")
    ep.at("+3h30m", "la_accommodation_requested")
    ep.at("+5h", "la_accommodation_response", outcome="refused", reason="no bed")
    got = replay(ep.lines(), until=ep.time("+5h"))
    assert got.states("CR1/la_response_overdue/overdue/1") == ["raised", "resolved"]
    assert got.states("CR1/la_refused/refused/1") == ["raised"]  # only the end resolves it


@pytest.mark.parametrize(
    "alert_id",
    [
        "CR1/overnight_hold/overnight/2026-03-02",
        "CR1/la_refused/refused/1",
        "CR1/under_ten/detained",
    ],
)
def test_only_the_end_of_detention_resolves(alert_id: str) -> None:
    ep = Episode("CR1", T0, dob="2017-06-01").at("+2h", "charged").at("+3h", "bail_refused")
    ep.at("+3h30m", "la_accommodation_requested")
    ep.at("+4h", "la_accommodation_response", outcome="refused", reason="no bed")
    ep.at("+13h", "detention_reviewed").at("+1d", "detention_reviewed")
    before = replay(ep.lines(), until=ep.time("+1d1h"))
    assert before.states(alert_id) == ["raised"]
    ep.at("+1d2h", "released", disposal="to_court")
    after = replay(ep.lines())
    assert after.states(alert_id) == ["raised", "resolved"]


def test_transfer_to_the_la_after_the_deadline_resolves_transfer_overdue() -> None:
    ep = child().at("+2h", "charged").at("+3h", "bail_refused")
    ep.at("+3h30m", "la_accommodation_requested")
    ep.at("+4h", "la_accommodation_response", outcome="accepted").at("+6h30m", "transferred_to_la")
    got = replay(ep.lines())
    assert got.states("CR1/transfer_overdue/overdue") == ["raised", "resolved"]


def test_a_settled_alert_survives_snapshot_and_restore_and_settles_once() -> None:
    ep = child().at("+6h30m", "released")
    engine = Engine(RuleConfig())
    first = engine.process(_event(ep.lines()[0]))[0] + engine.advance(to_us(ep.time("+6h10m")))
    restored = restore(RuleConfig(), json.loads(json.dumps(snapshot(engine))))
    later, _ = restored.process(_event(ep.lines()[1]))
    assert {r.alert_id for r in first if r.state == "raised"} == {
        r.alert_id for r in later if r.state == "resolved"
    }
    again, outcome = restored.process(_event(ep.lines()[1]))
    assert (again, outcome) == ([], Outcome.DUPLICATE)


# --- a rejected event changes nothing ------------------------------------------------------------


def _orphan(at: str) -> bytes:
    event = Episode("ORPHAN", at).event(at, "charged")
    return dumps(event)


def test_a_far_future_orphan_fires_nothing_in_replay() -> None:
    ep = child().at("+7h", "released")
    plain = replay(ep.lines())
    with_orphan = replay([*ep.lines()[:1], _orphan("2026-09-01T00:00:00+00:00"), *ep.lines()[1:]])
    assert with_orphan.rejects == [(2, "orphan_event")]
    assert with_orphan.result.history == plain.result.history


def test_rejected_and_duplicate_events_do_not_move_the_clock() -> None:
    ep = child()
    engine = Engine(RuleConfig())
    engine.process(_event(ep.lines()[0]))
    clock, state = engine.clock, snapshot(engine)
    for line in (_orphan("2026-09-01T00:00:00+00:00"), ep.lines()[0]):
        fired, outcome = engine.process(_event(line))
        assert fired == []
        assert outcome is Outcome.DUPLICATE or isinstance(outcome, Reject)
    assert engine.clock == clock
    assert snapshot(engine) == state


def test_live_an_event_from_the_future_beyond_the_skew_is_refused() -> None:
    ep = child()
    now = to_us(ep.time("-10m"))
    engine = Engine(RuleConfig(), future_skew_us=5 * 60_000_000)
    fired, outcome = engine.process(_event(ep.lines()[0]), now=now)
    assert fired == []
    assert isinstance(outcome, Reject) and outcome.reason is RejectReason.FUTURE_EVENT
    assert "600 s ahead" in outcome.message
    assert engine.episodes == {} and engine.clock == 0
    _, ok = engine.process(_event(ep.lines()[0]), now=to_us(ep.time("-4m")))
    assert ok is Outcome.ACCEPTED  # within the 5-minute skew


def test_too_old_keeps_fires_at_most_once_after_an_episode_is_forgotten() -> None:
    ep = child().at("+2h", "released")
    day = 86_400_000_000
    engine = Engine(RuleConfig(), closed_retention_us=day)
    fired = []
    for line in ep.lines():
        fired += engine.process(_event(line))[0]
    assert "CR1/appropriate_adult/not_requested" in {r.alert_id for r in fired}
    engine.advance(to_us(ep.time("+3d")))
    assert engine.closed == {}  # forgotten after a day
    again, outcome = engine.process(_event(ep.lines()[0]))  # a redelivery, 3 days on
    assert again == []
    assert isinstance(outcome, Reject) and outcome.reason is RejectReason.TOO_OLD
    assert "remembered" in outcome.message
    recent = Episode("CR2", (ep.time("+3d") - timedelta(hours=1)).isoformat(), dob=CHILD)
    assert engine.process(_event(recent.lines()[0]))[1] is Outcome.ACCEPTED
