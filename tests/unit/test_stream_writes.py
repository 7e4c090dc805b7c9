"""The changelog's state encoding: compact JSON that the old encoder's records still decode to."""

from __future__ import annotations

import json
from typing import Any

from builders import Episode, parse_ts

from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig
from custodywatch.core.engine import Engine
from custodywatch.core.engine_state import episode_state
from custodywatch.stream.writes import decode_state, encode_state


def test_a_state_round_trips_with_64_bit_fingerprints_and_non_ascii() -> None:
    state: dict[str, Any] = {
        "closed": {"ended_at": 1_767_225_600_000_000, "seen": [0, 2**63, 2**64 - 1]},
        "suite": "Ynys Môn",
    }
    encoded = encode_state(state)
    assert encoded is not None
    assert decode_state(encoded) == state
    assert json.loads(encoded) == state  # plain JSON: any consumer can read the changelog


def test_a_forgotten_episode_is_a_tombstone() -> None:
    assert encode_state(None) is None


def test_states_written_by_the_previous_encoder_restore_the_same_episode() -> None:
    engine = Engine(RuleConfig())
    child = Episode("CR-1", "2026-01-10T20:00:00+00:00", dob="2010-05-01", suite="ynys-môn")
    child.at("+2h", "appropriate_adult_requested").at("+7h", "detention_reviewed")
    adult = Episode("CR-2", "2026-01-10T20:05:00+00:00").at("+1h", "released")
    for line in child.lines() + adult.lines():
        event = decode(line)
        assert not isinstance(event, Reject), event
        engine.process(event)
    fired = engine.advance(to_us(parse_ts("2026-01-11T12:00:00+00:00")))
    assert fired  # the child's state carries fired and standing alerts too
    for rid in ("CR-1", "CR-2"):
        state = episode_state(engine, rid)
        old = json.dumps(state, separators=(",", ":")).encode()  # before orjson
        new = encode_state(state)
        assert new is not None
        assert decode_state(old) == decode_state(new) == state
