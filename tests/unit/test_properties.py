"""Properties the streaming worker relies on: determinism, idempotence, resumability."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig
from custodywatch.core.engine import Engine
from custodywatch.core.engine_state import restore, snapshot
from custodywatch.replay import (
    ReplayResult,
    decode_lines,
    replay_lines,
    replay_summaries,
    run,
    standing,
)

RULES = RuleConfig()
BASE = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # close to a DST change on purpose

FOLLOW_UPS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "age_established": st.builds(
        lambda y: {"date_of_birth": f"{y}-06-15"}, st.sampled_from([2008, 2012, 2018, 1990])
    ),
    "appropriate_adult_requested": st.just({}),
    "appropriate_adult_arrived": st.just({}),
    "detention_reviewed": st.just({"reviewing_rank": "inspector"}),
    "detention_extended": st.builds(lambda h: {"new_limit_hours": h}, st.sampled_from([36, 96])),
    "charged": st.just({"offences": ["theft"]}),
    "bail_refused": st.just({}),
    "la_accommodation_requested": st.builds(
        lambda kind: {"local_authority": "sandwell", "accommodation_type": kind},
        st.sampled_from(["secure", "non_secure"]),
    ),
    "la_accommodation_response": st.builds(
        lambda ok, why: {
            "local_authority": "sandwell",
            "outcome": "accepted" if ok else "refused",
            **({} if why is None else {"reason": why}),
        },
        st.booleans(),
        st.sampled_from([None, "no bed"]),
    ),
    "transfer_impracticable_certified": st.just({"reason": "no bed"}),
    "transferred_to_suite": st.just({"to_suite_id": "oldbury"}),
    "released": st.just({"disposal": "bail"}),
    "transferred_to_la": st.just({"local_authority": "sandwell"}),
}


def _event(seq: int, record: str, at: datetime, kind: str, payload: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "schema_version": 1,
            "event_id": f"{record}-{seq}",
            "event_type": kind,
            "custody_record_id": record,
            "suite_id": "perry-barr",
            "occurred_at": at.isoformat(),
            "payload": payload,
        }
    ).encode()


@st.composite
def episode(draw: st.DrawFn, record: str) -> list[bytes]:
    t0 = BASE + timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)))
    detainee = {
        "person_ref": f"P-{record}",
        "date_of_birth": draw(st.sampled_from([None, "2010-01-01", "2017-02-02", "1980-05-05"])),
        "appears_under_18": draw(st.sampled_from([None, True, False])),
        "looked_after_child": draw(st.sampled_from([None, True, False])),
        "sex": draw(st.sampled_from([None, "female", "male"])),
    }
    opening = {
        "detainee": detainee,
        "arrested_at": (t0 - timedelta(minutes=40)).isoformat(),
        "arrived_at": (t0 - timedelta(minutes=10)).isoformat(),
        "arrest_basis": draw(st.sampled_from(["new_offence", "warrant", "other"])),
        "offence_category": "theft",
        "home_local_authority": "birmingham",
    }
    lines = [_event(0, record, t0, "detention_authorised", opening)]
    steps = draw(
        st.lists(
            st.tuples(st.integers(1, 40 * 60), st.sampled_from(sorted(FOLLOW_UPS))),
            max_size=12,
            unique_by=lambda step: step[0],  # one event per minute: no same-time ties
        )
    )
    for seq, (minutes, kind) in enumerate(sorted(steps), start=1):
        payload = draw(FOLLOW_UPS[kind])
        lines.append(_event(seq, record, t0 + timedelta(minutes=minutes), kind, payload))
    return lines


@st.composite
def stream(draw: st.DrawFn) -> list[bytes]:
    count = draw(st.integers(1, 6))
    lines = [line for i in range(count) for line in draw(episode(f"CR{i}"))]
    return draw(st.permutations(lines))


def _alerts(result: ReplayResult) -> list[dict[str, Any]]:
    return [a.to_dict() for a in result.alerts]


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(stream())
def test_replaying_the_same_file_twice_gives_identical_output(lines: list[bytes]) -> None:
    first, second = replay_lines(lines, RULES), replay_lines(lines, RULES)
    assert _alerts(first) == _alerts(second)
    assert [r.to_json() for r in first.rejects] == [r.to_json() for r in second.rejects]


@SETTINGS
@given(stream(), st.data())
def test_duplicate_events_change_nothing(lines: list[bytes], data: st.DataObject) -> None:
    """Redelivered copies anywhere later in the stream are ignored (or rejected again)."""
    noisy = list(lines)
    copies = data.draw(st.integers(0, 8))
    for _ in range(copies):
        original = data.draw(st.integers(0, len(lines) - 1))
        position = data.draw(st.integers(noisy.index(lines[original]) + 1, len(noisy)))
        noisy.insert(position, lines[original])
    plain, with_dups = replay_lines(lines, RULES), replay_lines(noisy, RULES)
    assert _alerts(plain) == _alerts(with_dups)
    assert plain.duplicates == 0
    # Each copy of an accepted event is a duplicate; a copy of a reject is rejected again.
    assert with_dups.duplicates + len(with_dups.rejects) == len(plain.rejects) + copies


@SETTINGS
@given(stream(), st.data())
def test_snapshot_and_resume_gives_the_same_alerts(lines: list[bytes], data: st.DataObject) -> None:
    uninterrupted = replay_lines(lines, RULES)

    result = ReplayResult()
    ordered = sorted(decode_lines(lines, result), key=lambda item: (item[0], item[1]))
    cut = data.draw(st.integers(0, len(ordered)))
    engine = Engine(RULES)
    head = ReplayResult()
    for _, _, event in ordered[:cut]:
        head.history.extend(engine.process(event)[0])
    # Through JSON, as a changelog or database would carry it.
    resumed = restore(RULES, json.loads(json.dumps(snapshot(engine))))
    tail = ReplayResult()
    latest = ordered[-1][0] if ordered else None
    run(resumed, ordered[cut:], lambda n: lines[n - 1], tail, until=latest)

    combined = standing([*head.history, *tail.history])
    assert [a.to_dict() for a in combined] == _alerts(uninterrupted)


@SETTINGS
@given(stream(), st.data())
def test_snapshot_and_resume_gives_the_same_episode_summaries(
    lines: list[bytes], data: st.DataObject
) -> None:
    """Every fact a summary shows survives the changelog; ended ones are summarised at their end."""
    _, uninterrupted = replay_summaries(lines, RULES)
    ordered = sorted(decode_lines(lines, ReplayResult()), key=lambda item: (item[0], item[1]))
    cut = data.draw(st.integers(0, len(ordered)))
    engine = Engine(RULES, keep_ended=True)
    for _, _, event in ordered[:cut]:
        engine.process(event)
    before = engine.episode_summaries(sorted({*engine.episodes, *engine.ended}))
    saved = json.loads(json.dumps(snapshot(engine)))
    resumed = restore(RULES, saved, keep_ended=True)
    assert snapshot(resumed) == saved
    latest = ordered[-1][0] if ordered else None
    run(resumed, ordered[cut:], lambda n: lines[n - 1], ReplayResult(), until=latest)
    after = resumed.episode_summaries(sorted({*resumed.episodes, *resumed.ended}), as_of=latest)
    # The latest summary of each record, as a compacted topic would keep it.
    latest_of = {s.custody_record_id: s for s in [*before, *after]}
    assert sorted(latest_of.values(), key=lambda s: s.custody_record_id) == uninterrupted


@SETTINGS
@given(stream())
def test_every_alert_id_is_raised_at_most_once(lines: list[bytes]) -> None:
    ids = [a.alert_id for a in replay_lines(lines, RULES).alerts]
    assert len(ids) == len(set(ids))


def test_generated_events_are_valid_contract_events() -> None:
    @given(stream())
    @settings(max_examples=30, deadline=None)
    def check(lines: list[bytes]) -> None:
        for line in lines:
            event = decode(line)
            assert not isinstance(event, Reject), event
            assert to_us(event.occurred_at) > 0

    check()
