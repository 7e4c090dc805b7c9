"""The engine: episodes, a deadline heap, and the firing loop. Pure: time is a parameter.

One heap entry per episode, at its next due time, so advancing the clock costs
O(log n) per fired deadline, never a scan of every episode. Entries are lazily
invalidated: an entry whose time no longer matches the episode's `next_due` is
skipped when popped.

Callers drive time:
- `process(event)` fires what is due strictly before the event's time, then
  applies it (so an event exactly at a due time cancels that deadline);
- `advance(to)` fires what is due up to `to`: replay's end, a clock tick, or
  the wall clock in live mode;
- `handle(event)` applies an event and fires nothing.
"""

from __future__ import annotations

import heapq
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from hashlib import blake2b as _blake2b
from typing import Any

from custodywatch.contract import events as ev
from custodywatch.contract.alerts import AlertRecord
from custodywatch.contract.episodes import EpisodeSummary
from custodywatch.contract.rejects import Reject, RejectReason
from custodywatch.core.clock import iso, to_us
from custodywatch.core.config import RuleConfig
from custodywatch.core.episode import RECORDERS, Episode
from custodywatch.core.episode_summary import summarise_episode
from custodywatch.core.rules import (
    AFFECTED_BY,
    ALL_RULES,
    Deadline,
    next_unfired_due,
    pending_deadlines,
    unfired,
)
from custodywatch.core.summary import summarise

_ENDS_DETENTION = frozenset({"released", "transferred_to_la"})


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"


# Enum attribute access costs about 50 ns in Python 3.11: handle() uses these.
_ACCEPTED, _DUPLICATE = Outcome.ACCEPTED, Outcome.DUPLICATE


@dataclass(slots=True)
class ClosedEpisode:
    """What is kept after release: enough to spot duplicates and late events."""

    ended_at: int
    seen: array[int]


class Engine:
    def __init__(
        self,
        rules: RuleConfig,
        *,
        closed_retention_us: int | None = None,
        keep_ended: bool = False,
    ) -> None:
        """`closed_retention_us`: forget ended episodes after this long (None: never).

        Forgetting trades memory for the "at most once, ever" guarantee: a
        redelivery older than the retention would be treated as new.

        `keep_ended`: keep each ended episode's final state until
        `episode_summaries` hands out its summary (a caller that publishes
        summaries must drain them, as it drains `dirty`).
        """
        self.rules = rules
        self.closed_retention_us = closed_retention_us
        self.keep_ended = keep_ended
        self.episodes: dict[str, Episode] = {}
        self.closed: dict[str, ClosedEpisode] = {}
        self.ended: dict[str, Episode] = {}
        self._due: list[tuple[int, str]] = []
        self._expiry: list[tuple[int, str]] = []
        self.dirty: set[str] = set()

    # --- events ------------------------------------------------------------

    def process(
        self, event: ev.CustodyEvent, raised_at: int | None = None
    ) -> tuple[list[AlertRecord], Outcome | Reject]:
        """Fire what fell due strictly before the event, then apply it.

        This is replay's step, and the live worker's too: after a backlog,
        a deadline an unread event would have cancelled is not raised.
        """
        at = to_us(event.occurred_at)
        due = self._due
        if due and due[0][0] < at:
            alerts = self.advance(at, inclusive=False, raised_at=raised_at)
        else:  # fast path: nothing can fire
            alerts = []
        return alerts, self.handle(event, at)

    def handle(self, event: ev.CustodyEvent, at: int | None = None) -> Outcome | Reject:
        """Apply one event and fire nothing (callers fire first: `process`, or live mode)."""
        if at is None:
            at = to_us(event.occurred_at)
        rid = event.custody_record_id
        kind = event.event_type
        # A stable 64-bit fingerprint of the event id (hash() is salted per process).
        fingerprint = int.from_bytes(_blake2b(event.event_id.encode(), digest_size=8).digest())
        ep = self.episodes.get(rid)
        if ep is None:
            return self._open(event, at, fingerprint)
        # The hot path: an event for an open episode.
        if fingerprint in ep.seen:
            return _DUPLICATE
        if kind == "detention_authorised":
            return Reject(
                RejectReason.EPISODE_ALREADY_OPEN,
                f"custody record {rid!r} is already open (detention authorised at "
                f"{iso(ep.t0)}); a second detention_authorised is not allowed",
            )
        ep.last_at = max(ep.last_at, at)  # when late evidence became known
        record = RECORDERS.get(kind)
        if record is not None:
            record(ep, event, at, self.rules)
        ep.seen.append(fingerprint)
        self.dirty.add(rid)
        if kind in _ENDS_DETENTION:
            self._close(ep, at)
        elif ep.juvenile or ep.rule_due is not None:  # adults have no deadlines
            affected = AFFECTED_BY[kind]
            if affected:
                self._reschedule(ep, affected)
        return _ACCEPTED

    def _open(self, event: ev.CustodyEvent, at: int, fingerprint: int) -> Outcome | Reject:
        """An event for a record with no open episode: a new detention, or a reject."""
        rid = event.custody_record_id
        closed = self.closed.get(rid)
        if closed is not None:
            if fingerprint in closed.seen:
                return _DUPLICATE
            return Reject(
                RejectReason.EPISODE_ENDED,
                f"custody record {rid!r} ended at {iso(closed.ended_at)}; "
                f"no {event.event_type} can follow release or transfer to the local authority",
            )
        if not isinstance(event, ev.DetentionAuthorised):
            return Reject(
                RejectReason.ORPHAN_EVENT,
                f"custody record {rid!r} has no open episode: detention_authorised must come "
                f"before {event.event_type}",
            )
        ep = Episode.open(event, at, self.rules)
        self.episodes[rid] = ep
        ep.seen.append(fingerprint)
        self.dirty.add(rid)
        self._reschedule(ep)
        return _ACCEPTED

    def _close(self, ep: Episode, at: int) -> None:
        del self.episodes[ep.record_id]
        self.closed[ep.record_id] = ClosedEpisode(at, ep.seen)
        if self.keep_ended:
            self.ended[ep.record_id] = ep
        self._schedule_expiry(ep.record_id, at)

    def _schedule_expiry(self, rid: str, ended_at: int) -> None:
        if self.closed_retention_us is not None:
            heapq.heappush(self._expiry, (ended_at + self.closed_retention_us, rid))

    def _reschedule(self, ep: Episode, affected: tuple[int, ...] = ALL_RULES) -> None:
        """Re-evaluate the affected rules and push the episode's next due time."""
        if not ep.juvenile:
            if ep.rule_due is not None:  # an age correction: no deadlines for an adult
                ep.rule_due = ep.next_due = None
            return
        rule_due = ep.rule_due
        if rule_due is None:
            rule_due = ep.rule_due = [None] * len(ALL_RULES)
            affected = ALL_RULES
        for index in affected:
            rule_due[index] = next_unfired_due(ep, index, self.rules)
        self._push_next(ep)

    def _push_next(self, ep: Episode) -> None:
        due = min([t for t in ep.rule_due or () if t is not None], default=None)
        if due != ep.next_due:
            ep.next_due = due
            if due is not None:
                heapq.heappush(self._due, (due, ep.record_id))

    # --- time --------------------------------------------------------------

    def advance(
        self, to: int, *, inclusive: bool = True, raised_at: int | None = None
    ) -> list[AlertRecord]:
        """Fire every live deadline due before `to` (or at it, when inclusive).

        `raised_at` is the wall-clock time in live mode. In event time an alert
        is raised at its due time, or when the late evidence that made it due
        occurred, whichever is later: a fact of the episode alone, so replay and
        a partitioned worker agree whatever the interleaving of other episodes.
        """
        limit = to if inclusive else to - 1  # times are whole microseconds
        alerts: list[AlertRecord] = []
        heap = self._due
        while heap and heap[0][0] <= limit:
            due, rid = heapq.heappop(heap)
            ep = self.episodes.get(rid)
            if ep is None or ep.next_due != due:
                continue  # stale entry: the episode moved on or ended
            alerts.extend(self._fire(ep, limit, raised_at))
        if self._expiry:
            self._expire(to)
        return alerts

    def _fire(self, ep: Episode, limit: int, raised_at: int | None) -> list[AlertRecord]:
        """Fire the episode's deadlines due at or before `limit`; push its next due time."""
        fired: list[AlertRecord] = []
        rule_due = ep.rule_due
        if rule_due is None:
            return fired  # unreachable: only juveniles are on the heap
        for index, due in enumerate(rule_due):
            if due is None or due > limit:
                continue
            later: int | None = None
            for d in sorted(unfired(ep, index, self.rules)):
                if d.due <= limit:
                    ep.fired |= {d.key}
                    raised = raised_at if raised_at is not None else max(d.due, ep.last_at)
                    fired.append(self._record(ep, d, raised))
                elif later is None:
                    later = d.due
            # Firing changes only `fired`, which only overnight_hold reads (its next
            # night appears once a night is done): re-evaluate when nothing is left.
            rule_due[index] = (
                later if later is not None else next_unfired_due(ep, index, self.rules)
            )
        self.dirty.add(ep.record_id)
        ep.next_due = None  # the popped heap entry is gone: always push the next one
        self._push_next(ep)
        return fired

    def _record(self, ep: Episode, d: Deadline, raised: int) -> AlertRecord:
        suite = ep.suite_at(d.due)
        return AlertRecord(
            alert_id=f"{ep.record_id}/{d.key}",
            rule=d.rule,
            stage=d.stage,
            instance=d.instance,
            severity=d.severity,
            custody_record_id=ep.record_id,
            suite_id=suite,
            person_ref=ep.person_ref,
            home_local_authority=ep.home_la,
            due_at=iso(d.due),
            raised_at=iso(raised),
            summary=summarise(ep, d, suite, self.rules),
            state="raised",
            state_at=iso(max(d.due, ep.last_at)),
            evidence_event_id=None,
        )

    def _expire(self, now: int) -> None:
        """Forget closed episodes after the retention window (in the same clock)."""
        while self._expiry and self._expiry[0][0] <= now:
            _, rid = heapq.heappop(self._expiry)
            closed = self.closed.get(rid)
            retention = self.closed_retention_us
            if closed is not None and retention is not None and closed.ended_at + retention <= now:
                del self.closed[rid]
                self.dirty.add(rid)

    # --- views for reports and metrics ---------------------------------------

    def next_due(self) -> int | None:
        """The earliest time at which `advance` could fire something."""
        while self._due:
            due, rid = self._due[0]
            ep = self.episodes.get(rid)
            if ep is not None and ep.next_due == due:
                return due
            heapq.heappop(self._due)
        return None

    def episode_summaries(
        self, rids: Iterable[str], as_of: int | None = None
    ) -> list[EpisodeSummary]:
        """The summary of each of `rids` still open or just ended, in the order given.

        A just-ended episode's final summary is handed out once, then forgotten
        (`keep_ended`). `as_of`: the caller's clock, up to which open episodes'
        nights are counted (default: each episode's latest event).
        """
        out: list[EpisodeSummary] = []
        for rid in rids:
            ended = self.ended.pop(rid, None)
            if ended is not None:
                out.append(summarise_episode(ended, self.rules))
            ep = self.episodes.get(rid)  # a record reopened after its retention expired
            if ep is not None:
                out.append(summarise_episode(ep, self.rules, as_of))
        return out

    def juveniles_by_suite(self) -> Counter[str]:
        return Counter(ep.suite_id for ep in self.episodes.values() if ep.juvenile)

    def open_deadlines(self) -> int:
        return sum(len(pending_deadlines(ep, self.rules)) for ep in self.episodes.values())

    # --- snapshot / restore ---------------------------------------------------

    def episode_state(self, rid: str) -> dict[str, Any] | None:
        """One episode's durable state (open or closed), or None once forgotten."""
        ep = self.episodes.get(rid)
        if ep is not None:
            return {"open": ep.to_dict()}
        closed = self.closed.get(rid)
        if closed is not None:
            return {"closed": {"ended_at": closed.ended_at, "seen": list(closed.seen)}}
        return None

    def snapshot(self) -> dict[str, Any]:
        return {
            "episodes": {rid: self.episode_state(rid) for rid in (*self.episodes, *self.closed)},
        }

    @classmethod
    def restore(
        cls,
        rules: RuleConfig,
        snapshot: dict[str, Any],
        *,
        closed_retention_us: int | None = None,
        keep_ended: bool = False,
    ) -> Engine:
        engine = cls(rules, closed_retention_us=closed_retention_us, keep_ended=keep_ended)
        for rid, state in snapshot["episodes"].items():
            engine.restore_episode(rid, state)
        engine.dirty.clear()
        return engine

    def restore_episode(self, rid: str, state: dict[str, Any] | None) -> None:
        """Put one episode's durable state back (from a snapshot or a table)."""
        self.episodes.pop(rid, None)
        self.closed.pop(rid, None)
        if state is None:
            return
        if "open" in state:
            ep = Episode.from_dict(state["open"])
            self.episodes[rid] = ep
            self._reschedule(ep)
        else:
            ended_at = state["closed"]["ended_at"]
            self.closed[rid] = ClosedEpisode(ended_at, array("Q", state["closed"]["seen"]))
            self._schedule_expiry(rid, ended_at)
