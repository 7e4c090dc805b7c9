"""Firing semantics, identity, rejects and replay ordering (welfare-rules.md, custody-events.md)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from builders import Episode, dumps, parse_ts, replay, utc

from custodywatch.contract.alerts import AlertRecord
from custodywatch.contract.rejects import Reject, RejectReason, decode
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig
from custodywatch.core.engine import Engine, Outcome
from custodywatch.core.engine_state import restore, snapshot
from custodywatch.replay import standing

T0 = "2026-03-01T12:00:00+00:00"
CHILD_DOB = "2010-06-15"


def child(record_id: str = "CR1", t0: str = T0, **kwargs: object) -> Episode:
    kwargs.setdefault("dob", CHILD_DOB)
    return Episode(record_id, t0=t0, **kwargs)  # type: ignore[arg-type]


def feed(engine: Engine, lines: list[bytes]) -> tuple[list[AlertRecord], list[object]]:
    """Drive an engine as the spec says: advance to just before each event, then apply it."""
    alerts: list[AlertRecord] = []
    outcomes: list[object] = []
    for line in lines:
        event = decode(line)
        assert not isinstance(event, Reject), event
        fired, outcome = engine.process(event)
        alerts.extend(fired)
        outcomes.append(outcome)
    return alerts, outcomes


# --- each alert at most once ----------------------------------------------------------------


def test_advancing_twice_does_not_fire_again() -> None:
    ep = child().at("+30m", "appropriate_adult_requested")
    engine = Engine(RuleConfig())
    feed(engine, ep.lines())
    until = to_us(ep.time("+7h"))
    first = engine.advance(until)
    assert {a.alert_id for a in first} == {
        "CR1/appropriate_adult/not_arrived",
        "CR1/detention_duration/approaching",
        "CR1/detention_duration/breach",
        "CR1/review_overdue/overdue/1",
    }
    assert engine.advance(until) == []
    later = engine.advance(to_us(ep.time("+13h")))
    assert {a.alert_id for a in later}.isdisjoint({a.alert_id for a in first})
    assert "CR1/detention_duration/prolonged" in {a.alert_id for a in later}


def test_feeding_every_event_again_is_all_duplicates_and_fires_nothing_new() -> None:
    ep = child().at("+30m", "appropriate_adult_requested").at("+8h", "detention_reviewed")
    engine = Engine(RuleConfig())
    fired, _ = feed(engine, ep.lines())
    fired += engine.advance(to_us(ep.time("+9h")))
    assert [a.state for a in fired].count("raised") == 4
    assert [(a.alert_id, a.state) for a in fired if a.state != "raised"] == [
        ("CR1/review_overdue/overdue/1", "resolved")  # the review came 2h late
    ]
    again, outcomes = feed(engine, ep.lines())
    assert outcomes == [Outcome.DUPLICATE] * len(ep.lines())
    assert again == []
    assert engine.advance(to_us(ep.time("+9h"))) == []


def test_restart_from_snapshot_does_not_fire_again() -> None:
    ep = child()
    engine = Engine(RuleConfig())
    feed(engine, ep.lines())
    before = engine.advance(to_us(ep.time("+7h")))
    restored = restore(RuleConfig(), snapshot(engine))
    after = restored.advance(to_us(ep.time("+13h")))
    assert {a.alert_id for a in after} == {
        "CR1/detention_duration/prolonged",
        "CR1/overnight_hold/at_risk/2026-03-02",
        "CR1/overnight_hold/overnight/2026-03-02",
    }
    assert {a.alert_id for a in before}.isdisjoint({a.alert_id for a in after})


def test_replaying_a_file_twice_over_gives_the_same_alerts_once() -> None:
    ep = child().at("+30m", "appropriate_adult_requested").at("+3d", "released")
    once = replay(ep.lines())
    twice = replay(ep.lines() + ep.lines())
    assert once.pairs
    assert twice.pairs == once.pairs
    assert len(twice.ids) == len(set(twice.ids))
    assert twice.rejects == []


def test_two_replays_of_one_file_are_identical() -> None:
    a = child("CR1").at("+3h", "bail_refused").at("+2d", "released")
    b = child("CR2", t0="2026-03-01T12:30:00+00:00").at("+1d", "transferred_to_la")
    lines = a.lines() + b.lines()
    first = replay(lines).alerts
    second = replay(lines).alerts
    assert first
    assert [x.to_dict() for x in first] == [x.to_dict() for x in second]


def test_every_alert_id_is_unique_in_a_long_detention() -> None:
    ep = child(t0="2026-03-01T18:00:00+00:00")
    ep.at("+3h", "detention_reviewed").at("+10h", "detention_extended", new_limit_hours=48)
    ep.at("+20h", "bail_refused").at("+22h", "la_accommodation_requested")
    ep.at("+23h30m", "la_accommodation_response", outcome="refused")
    ep.at("+24h", "la_accommodation_requested")
    ep.at("+24h30m", "la_accommodation_response", outcome="refused")
    got = replay(ep.lines(), until=ep.time("+4d"))
    assert len(got.ids) == len(set(got.ids))
    assert "CR1/la_refused/refused/2" in got.ids
    assert "CR1/overnight_hold/overnight/2026-03-05" in got.ids


def test_incremental_engine_matches_replay() -> None:
    ep = child().at("+30m", "appropriate_adult_requested")
    ep.at("+2h", "transferred_to_suite", to_suite_id="oldbury")
    ep.at("+5h", "detention_reviewed").at("+20h", "released")
    engine = Engine(RuleConfig())
    alerts, _ = feed(engine, ep.lines())
    alerts += engine.advance(to_us(ep.time("+20h")))
    live = sorted((a.alert_id, parse_ts(a.due_at), a.suite_id) for a in standing(alerts))
    replayed = replay(ep.lines())
    assert len(live) > 5
    assert live == sorted((a.alert_id, parse_ts(a.due_at), a.suite_id) for a in replayed.alerts)


# --- duplicates -------------------------------------------------------------------------------------


def test_duplicate_event_id_with_other_content_is_ignored() -> None:
    base = child().at("+30m", "appropriate_adult_requested", event_id="ev-aa")
    dup = child().at("+30m", "appropriate_adult_requested", event_id="ev-aa")
    # Same id, but now claiming a release: must be ignored entirely.
    dup.at("+45m", "released", event_id="ev-aa")
    want = replay(base.lines(), until=base.time("+7h"))
    got = replay(dup.lines(), until=dup.time("+7h"))
    assert got.rejects == []
    assert got.pairs == want.pairs
    assert "CR1/detention_duration/breach" in got.ids


def test_duplicate_changes_no_engine_state() -> None:
    ep = child().at("+30m", "appropriate_adult_requested", event_id="ev-aa")
    engine = Engine(RuleConfig())
    feed(engine, ep.lines())
    state = snapshot(engine)
    copy = child().event("+2h", "detention_reviewed", event_id="ev-aa")
    outcome = engine.process(decode(dumps(copy)))[1]  # type: ignore[arg-type]
    assert outcome is Outcome.DUPLICATE
    assert snapshot(engine) == state


@pytest.mark.parametrize("which", [0, -1], ids=["detention_authorised", "released"])
def test_redelivered_opening_or_closing_event_is_a_duplicate_not_a_reject(which: int) -> None:
    ep = child().at("+1h", "released")
    engine = Engine(RuleConfig())
    feed(engine, ep.lines())
    assert engine.process(decode(ep.lines()[which]))[1] is Outcome.DUPLICATE  # type: ignore[arg-type]
    got = replay([*ep.lines(), ep.lines()[which]])
    assert got.rejects == []


# --- rejects ------------------------------------------------------------------------------------------


def test_orphan_event_is_rejected_and_nothing_else_is_lost() -> None:
    orphan = child("CR9").event("+1h", "appropriate_adult_requested")
    ep = child().at("+30m", "appropriate_adult_requested")
    lines = [ep.lines()[0], dumps(orphan), ep.lines()[1]]
    got = replay(lines, until=ep.time("+7h"))
    assert got.rejects == [(2, "orphan_event")]
    assert "CR1/appropriate_adult/not_requested" not in got.ids
    assert "CR1/detention_duration/breach" in got.ids
    assert not any(i.startswith("CR9/") for i in got.ids)


def test_orphan_reject_from_the_engine() -> None:
    orphan = child("CR9").event("+1h", "charged")
    outcome = Engine(RuleConfig()).process(decode(dumps(orphan)))[1]  # type: ignore[arg-type]
    assert isinstance(outcome, Reject)
    assert outcome.reason is RejectReason.ORPHAN_EVENT
    assert outcome.reason.value == "orphan_event"
    assert outcome.message


@pytest.mark.parametrize("end", ["released", "transferred_to_la"])
@pytest.mark.parametrize(
    ("event_type", "payload"),
    [
        ("appropriate_adult_requested", {}),
        ("detention_reviewed", {}),
        ("released", {"disposal": "no_further_action"}),
        ("transferred_to_la", {}),
        ("transferred_to_suite", {"to_suite_id": "oldbury"}),
    ],
    ids=["aa_requested", "reviewed", "released", "transferred_to_la", "to_suite"],
)
def test_events_after_the_end_are_episode_ended(
    end: str, event_type: str, payload: dict[str, object]
) -> None:
    ep = child().at("+2h", end).at("+3h", event_type, **payload)
    got = replay(ep.lines(), until=ep.time("+2d"))
    assert got.rejects == [(3, "episode_ended")]
    assert got.pairs == [("CR1/appropriate_adult/not_requested", ep.time("+1h"))]


def test_new_detention_authorised_after_release_is_episode_ended() -> None:
    ep = child().at("+2h", "released")
    again = child(t0="2026-03-01T15:00:00+00:00")
    again.events[0]["event_id"] = "CR1-reopen"
    got = replay([*ep.lines(), dumps(again.events[0])], until=ep.time("+2d"))
    assert got.rejects == [(3, "episode_ended")]
    assert got.pairs == [("CR1/appropriate_adult/not_requested", ep.time("+1h"))]


def test_second_detention_authorised_is_episode_already_open_and_keeps_t0() -> None:
    ep = child()
    later = child(t0="2026-03-01T14:00:00+00:00")
    later.events[0]["event_id"] = "CR1-second"
    got = replay([*ep.lines(), dumps(later.events[0])], until=ep.time("+6h30m"))
    assert got.rejects == [(2, "episode_already_open")]
    assert ("CR1/detention_duration/breach", ep.time("+6h")) in got.pairs
    engine = Engine(RuleConfig())
    feed(engine, ep.lines())
    outcome = engine.process(decode(dumps(later.events[0])))[1]  # type: ignore[arg-type]
    assert isinstance(outcome, Reject)
    assert outcome.reason is RejectReason.EPISODE_ALREADY_OPEN


def test_invalid_line_is_rejected_and_the_rest_is_processed() -> None:
    ep = child()
    lines = [b"{not json", ep.lines()[0], b'{"schema_version": 1}']
    got = replay(lines, until=ep.time("+1h"))
    assert [line for line, _ in got.rejects] == [1, 3]
    assert got.rejects[0][1] == "invalid_json"
    assert got.pairs == [("CR1/appropriate_adult/not_requested", ep.time("+1h"))]


# --- output order ---------------------------------------------------------------------------------------


def test_output_is_ordered_by_due_at_then_alert_id() -> None:
    a = child("CR-B", t0="2026-03-01T12:00:00+00:00")
    b = child("CR-A", t0="2026-03-01T12:00:00+00:00")
    c = child("CR-C", t0="2026-03-01T11:30:00+00:00")
    lines = a.lines() + b.lines() + c.lines()
    got = replay(lines, until=utc("2026-03-01T19:00"))
    assert len(got.pairs) > 10
    assert got.pairs == sorted(got.pairs, key=lambda p: (p[1], p[0]))
    first_due = [i for i, d in got.pairs if d == utc("2026-03-01T18:00")]
    assert first_due == sorted(first_due)
    assert first_due[0] == "CR-A/detention_duration/breach"


def test_output_order_is_chronological_with_sub_second_due_times() -> None:
    a = child("CR-A", t0="2026-03-01T12:00:00.500000+00:00")
    b = child("CR-B", t0="2026-03-01T12:00:00+00:00")
    got = replay(a.lines() + b.lines(), until=utc("2026-03-01T13:30"))
    assert got.pairs == [
        ("CR-B/appropriate_adult/not_requested", utc("2026-03-01T13:00:00")),
        ("CR-A/appropriate_adult/not_requested", utc("2026-03-01T13:00:00.500000")),
    ]


# --- until ----------------------------------------------------------------------------------------------


def test_deadline_exactly_at_until_fires() -> None:
    ep = child()
    got = replay(ep.lines(), until=ep.time("+6h"))
    assert got.pairs[-2:] == [
        ("CR1/detention_duration/breach", ep.time("+6h")),
        ("CR1/review_overdue/overdue/1", ep.time("+6h")),
    ]


def test_deadline_just_after_until_does_not_fire() -> None:
    ep = child()
    got = replay(ep.lines(), until=ep.time("+6h") - timedelta(microseconds=1))
    assert [i for i, _ in got.pairs] == [
        "CR1/appropriate_adult/not_requested",
        "CR1/detention_duration/approaching",
    ]


def test_default_until_is_the_latest_occurred_at_inclusive() -> None:
    ep = child()
    other = child("CR2", t0=ep.time("+6h").isoformat(), dob="1990-01-01")  # an adult, no alerts
    got = replay(ep.lines() + other.lines())
    assert [i for i, _ in got.pairs] == [
        "CR1/appropriate_adult/not_requested",
        "CR1/detention_duration/approaching",
        "CR1/detention_duration/breach",
        "CR1/review_overdue/overdue/1",
    ]


def test_default_until_ignores_nothing_before_the_last_event_even_if_it_is_first_in_file() -> None:
    ep = child()
    other = child("CR2", t0=ep.time("+6h").isoformat(), dob="1990-01-01")
    got = replay(other.lines() + ep.lines())
    assert ("CR1/detention_duration/breach", ep.time("+6h")) in got.pairs


# --- event order ----------------------------------------------------------------------------------------


def test_events_out_of_file_order_are_applied_by_occurred_at() -> None:
    ep = child().at("+30m", "appropriate_adult_requested").at("+2h", "appropriate_adult_arrived")
    ep.at("+5h", "detention_reviewed").at("+9h", "released")
    lines = ep.lines()
    shuffled = lines[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != lines
    assert replay(shuffled).pairs == replay(lines).pairs
    assert replay(list(reversed(lines))).rejects == []
    assert replay(list(reversed(lines))).pairs == [
        ("CR1/detention_duration/approaching", ep.time("+5h")),
        ("CR1/detention_duration/breach", ep.time("+6h")),
    ]


def test_file_order_breaks_ties_of_occurred_at() -> None:
    ep = child()
    aa = ep.event("+2h", "appropriate_adult_requested")
    rel = ep.event("+2h", "released")
    first = ep.lines()[0]
    ok = replay([first, dumps(aa), dumps(rel)])
    assert ok.rejects == []
    late = replay([first, dumps(rel), dumps(aa)])
    assert late.rejects == [(3, "episode_ended")]


def test_tie_at_t0_event_before_detention_authorised_in_file_is_an_orphan() -> None:
    ep = child()
    aa = ep.event("+0s", "appropriate_adult_requested")
    got = replay([dumps(aa), ep.lines()[0]], until=ep.time("+2h"))
    assert got.rejects == [(1, "orphan_event")]
    assert ("CR1/appropriate_adult/not_requested", ep.time("+1h")) in got.pairs


def test_order_uses_utc_instants_not_local_clock_text() -> None:
    ep = child()  # T0 12:00Z
    release = ep.event("2026-03-01T12:45:00+00:00", "released")
    request = ep.event("2026-03-01T13:30:00+01:00", "appropriate_adult_requested")  # 12:30Z
    got = replay([ep.lines()[0], dumps(release), dumps(request)])
    assert got.rejects == []
    late = ep.event("2026-03-01T13:50:00+01:00", "appropriate_adult_arrived")  # 12:50Z
    got = replay([ep.lines()[0], dumps(late), dumps(release)])
    assert got.rejects == [(2, "episode_ended")]


# --- suite and summary -------------------------------------------------------------------------------------


def test_suite_id_is_the_suite_at_the_due_time() -> None:
    ep = child().at("+3h", "transferred_to_suite", to_suite_id="oldbury")
    ep.at("+8h", "transferred_to_suite", to_suite_id="steelhouse")
    got = replay(ep.lines(), until=ep.time("+12h"))
    assert got.one("CR1/appropriate_adult/not_requested").suite_id == "perry-barr"
    assert got.one("CR1/detention_duration/breach").suite_id == "oldbury"
    assert "oldbury" in got.one("CR1/detention_duration/breach").summary
    assert got.one("CR1/overnight_hold/at_risk/2026-03-02").suite_id == "steelhouse"
    assert got.one("CR1/detention_duration/prolonged").suite_id == "steelhouse"


def test_late_alert_carries_the_suite_at_its_due_time_not_the_current_one() -> None:
    ep = Episode("CR1", t0=T0, dob="1990-01-01")
    ep.at("+7h", "transferred_to_suite", to_suite_id="oldbury")
    ep.at("+8h", "age_established", date_of_birth=CHILD_DOB)
    got = replay(ep.lines())
    breach = got.one("CR1/detention_duration/breach")
    assert breach.suite_id == "perry-barr"
    assert "perry-barr" in breach.summary


def test_breach_summary_says_six_hours_suite_and_local_policy() -> None:
    ep = child(suite="perry-barr")
    got = replay(ep.lines(), until=ep.time("+13h"))
    summary = got.one("CR1/detention_duration/breach").summary
    assert "6h 00m" in summary
    assert "perry-barr" in summary
    assert "local policy" in summary
    assert "\n" not in summary
    for stage in ("approaching", "prolonged"):
        assert "local policy" in got.one(f"CR1/detention_duration/{stage}").summary


def test_alert_record_carries_every_required_field() -> None:
    ep = child(person_ref="P-4242", home_la="sandwell")
    got = replay(ep.lines(), until=ep.time("+2h"))
    alert = got.one("CR1/appropriate_adult/not_requested")
    record = alert.to_dict()
    for name in (
        "alert_id",
        "rule",
        "stage",
        "severity",
        "custody_record_id",
        "suite_id",
        "person_ref",
        "home_local_authority",
        "due_at",
        "raised_at",
        "summary",
    ):
        assert record.get(name), name
    assert record["person_ref"] == "P-4242"
    assert record["home_local_authority"] == "sandwell"
    assert parse_ts(record["due_at"]) == ep.time("+1h")
    assert parse_ts(record["raised_at"]) >= parse_ts(record["due_at"])


# --- "at most once, ever" and "after the end" do not expire ---------------------------------------------


def test_event_days_after_release_is_still_episode_ended() -> None:
    ep = child().at("+2h", "released").at("+6d", "appropriate_adult_arrived")
    assert replay(ep.lines()).rejects == [(3, "episode_ended")]


def test_event_weeks_after_release_is_still_episode_ended() -> None:
    ep = child().at("+2h", "released").at("+9d", "appropriate_adult_arrived")
    assert replay(ep.lines()).rejects == [(3, "episode_ended")]


def test_redelivery_weeks_later_raises_nothing_again() -> None:
    ep = child(dob="2016-06-01").at("+2h", "released")  # nine years old
    engine = Engine(RuleConfig())
    first, _ = feed(engine, ep.lines())
    first += engine.advance(to_us(ep.time("+2h")))
    assert [(a.alert_id, a.state) for a in first] == [
        ("CR1/under_ten/detained", "raised"),
        ("CR1/appropriate_adult/not_requested", "raised"),
        ("CR1/under_ten/detained", "resolved"),  # by the release
        ("CR1/appropriate_adult/not_requested", "resolved"),
    ]
    engine.advance(to_us(ep.time("+8d")))
    outcome = engine.process(decode(ep.lines()[0]))[1]  # type: ignore[arg-type]
    again = engine.advance(to_us(ep.time("+8d1s")))
    assert [a.alert_id for a in again] == []
    assert outcome is Outcome.DUPLICATE
