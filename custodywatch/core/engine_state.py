"""An engine's durable state: each episode's as the changelog holds it, a whole
snapshot, and an engine restored from either. Pure, like the engine.

An open episode is kept whole (`Episode.to_dict`); an ended one as its end time
and event fingerprints, until the retention forgets it. Restoring reschedules
each open episode's deadlines and each ended one's expiry.
"""

from __future__ import annotations

from array import array
from typing import Any

from custodywatch.core.config import RuleConfig
from custodywatch.core.engine import ClosedEpisode, Engine
from custodywatch.core.episode import Episode


def episode_state(engine: Engine, rid: str) -> dict[str, Any] | None:
    """One episode's durable state (open or closed), or None once forgotten."""
    ep = engine.episodes.get(rid)
    if ep is not None:
        return {"open": ep.to_dict()}
    closed = engine.closed.get(rid)
    if closed is not None:
        return {"closed": {"ended_at": closed.ended_at, "seen": list(closed.seen)}}
    return None


def snapshot(engine: Engine) -> dict[str, Any]:
    return {
        "episodes": {rid: episode_state(engine, rid) for rid in (*engine.episodes, *engine.closed)},
        "clock": engine.clock,
    }


def restore(
    rules: RuleConfig,
    snapshot: dict[str, Any],
    *,
    closed_retention_us: int | None = None,
    future_skew_us: int | None = None,
    keep_ended: bool = False,
) -> Engine:
    engine = Engine(
        rules,
        closed_retention_us=closed_retention_us,
        future_skew_us=future_skew_us,
        keep_ended=keep_ended,
    )
    for rid, state in snapshot["episodes"].items():
        restore_episode(engine, rid, state)
    engine.clock = snapshot.get("clock", 0)
    engine.dirty.clear()
    return engine


def restore_episode(engine: Engine, rid: str, state: dict[str, Any] | None) -> None:
    """Put one episode's durable state back (from a snapshot or a table)."""
    engine.episodes.pop(rid, None)
    engine.closed.pop(rid, None)
    if state is None:
        return
    if "open" in state:
        ep = Episode.from_dict(state["open"])
        engine.episodes[rid] = ep
        engine.reschedule(ep)
    else:
        ended_at = state["closed"]["ended_at"]
        engine.closed[rid] = ClosedEpisode(ended_at, array("Q", state["closed"]["seen"]))
        engine.schedule_expiry(rid, ended_at)
