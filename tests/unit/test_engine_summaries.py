"""The engine's summary hook (changed and just-ended episodes) and the facts' snapshot round trip."""

from __future__ import annotations

import json

from builders import Episode as Events

from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig
from custodywatch.core.engine import Engine
from custodywatch.core.engine_state import episode_state, restore, snapshot
from custodywatch.core.episode import Episode
from custodywatch.core.episode_summary import summarise_episode

RULES = RuleConfig()
T0 = "2026-03-01T18:00:00+00:00"


def feed(engine: Engine, events: Events) -> None:
    for line in events.lines():
        event = decode(line)
        assert not isinstance(event, Reject), event
        engine.process(event)


def rich(record_id: str = "CR1") -> Events:
    ep = Events(record_id, t0=T0, dob="2010-06-15", sex="female", looked_after_child=True)
    ep.at("+20m", "appropriate_adult_requested").at("+3h", "detention_reviewed")
    ep.at("+4h", "charged").at("+4h5m", "bail_refused")
    ep.at(
        "+5h", "la_accommodation_requested", local_authority="dudley", accommodation_type="secure"
    )
    ep.at("+5h30m", "la_accommodation_response", local_authority="dudley", outcome="refused")
    ep.at("+5h40m", "la_accommodation_requested", local_authority="sandwell")
    ep.at(
        "+6h",
        "la_accommodation_response",
        local_authority="sandwell",
        outcome="refused",
        reason="full",
    )
    ep.at("+6h30m", "transfer_impracticable_certified")
    ep.at("+7h", "transferred_to_suite", to_suite_id="oldbury")
    return ep


def test_episode_summaries_of_open_episodes_follow_the_clock() -> None:
    engine = Engine(RULES)
    feed(engine, rich())
    (now,) = engine.episode_summaries(["CR1"])
    assert now.updated_at == "2026-03-02T01:00:00Z"
    assert [n.night for n in now.nights] == ["2026-03-02"]
    (later,) = engine.episode_summaries(["CR1"], as_of=to_us(rich().time("+1d12h")))
    assert [n.night for n in later.nights] == ["2026-03-02", "2026-03-03"]
    assert engine.episode_summaries(["no-such-record"]) == []


def test_a_just_ended_episode_is_summarised_once_then_forgotten() -> None:
    engine = Engine(RULES, keep_ended=True)
    events = rich().at("+9h", "released", disposal="to_court")
    feed(engine, events)
    assert "CR1" not in engine.episodes and "CR1" in engine.dirty
    (final,) = engine.episode_summaries(sorted(engine.dirty))
    assert (final.end, final.disposal, final.ended_at) == (
        "released",
        "to_court",
        "2026-03-02T03:00:00Z",
    )
    assert final.suite_id == "oldbury"
    assert engine.ended == {}
    assert engine.episode_summaries(["CR1"]) == []


def test_without_keep_ended_nothing_is_kept_after_the_end() -> None:
    engine = Engine(RULES)
    feed(engine, Events("CR1", t0=T0).at("+1h", "released"))
    assert engine.ended == {}
    assert engine.episode_summaries(["CR1"]) == []


def test_only_the_rids_asked_for_are_handed_out() -> None:
    engine = Engine(RULES, keep_ended=True)
    feed(engine, Events("CR1", t0=T0).at("+1h", "released"))
    feed(engine, Events("CR2", t0=T0).at("+2h", "transferred_to_la", local_authority="dudley"))
    feed(engine, Events("CR3", t0=T0))
    got = engine.episode_summaries(["CR3", "CR2"])
    assert [(s.custody_record_id, s.end) for s in got] == [
        ("CR3", None),
        ("CR2", "transferred_to_la"),
    ]
    assert list(engine.ended) == ["CR1"]


def test_snapshot_round_trips_the_summary_facts() -> None:
    engine = Engine(RULES)
    feed(engine, rich())
    state = episode_state(engine, "CR1")
    assert state is not None
    restored = Episode.from_dict(json.loads(json.dumps(state["open"])))
    assert restored.to_dict() == state["open"]
    original = engine.episodes["CR1"]
    assert summarise_episode(restored, RULES) == summarise_episode(original, RULES)
    assert (restored.sex, restored.looked_after, restored.offence_category) == (
        "female",
        True,
        "theft",
    )
    assert restored.la_requests[0][2] == "secure" and restored.la_responses[1][3] == "full"


def test_the_end_facts_round_trip_too() -> None:
    engine = Engine(RULES)
    feed(engine, Events("CR1", t0=T0))
    ep = engine.episodes["CR1"]
    ep.ended = (ep.t0 + 1, "transferred_to_la", "dudley")
    again = Episode.from_dict(json.loads(json.dumps(ep.to_dict())))
    assert again.ended == ep.ended
    assert summarise_episode(again, RULES) == summarise_episode(ep, RULES)


def test_restored_engine_gives_the_same_summaries() -> None:
    engine = Engine(RULES)
    for rid in ("CR1", "CR2"):
        feed(engine, rich(rid))
    restored = restore(RULES, json.loads(json.dumps(snapshot(engine))))
    assert restored.episode_summaries(["CR1", "CR2"]) == engine.episode_summaries(["CR1", "CR2"])


def test_vocabularies_are_shared_between_restored_episodes() -> None:
    """json.loads makes a new string per value: restored episodes intern theirs again."""
    engine = Engine(RULES)
    feed(engine, rich("CR1"))
    feed(engine, rich("CR2"))
    restored = restore(RULES, json.loads(json.dumps(snapshot(engine))))
    a, b = restored.episodes["CR1"], restored.episodes["CR2"]
    assert a.home_la is b.home_la and a.offence_category is b.offence_category
    assert a.sex is b.sex and a.suites[1][1] is b.suites[1][1]
    assert a.la_requests[0][1] is b.la_requests[0][1]
