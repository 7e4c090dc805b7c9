"""The engine: episodes, a deadline heap, and the firing loop. Pure: time is a parameter.

One heap entry per episode, at its next due time, so advancing the clock costs
O(log n) per fired deadline, never a scan of every episode. Entries are lazily
invalidated: an entry whose time no longer matches the episode's `next_due` is
skipped when popped.

Callers drive time:
- `process(event, now=None)` fires what is due strictly before the event's
  time (so an event exactly at a due time cancels that deadline), then applies
  it; a rejected or duplicate event changes nothing, not even the clock. With
  `now` (the wall clock, live mode) firing never passes `now`, alerts are raised
  at `now`, and an event more than the allowed skew ahead of it is refused;
- `advance(to)` fires what is due up to `to`: replay's end, a clock tick, or
  the wall clock in live mode.

Both return alert records: `raised` ones, and `resolved` / `retracted` ones for
alerts the applied evidence settles (see `transitions.py`). An engine's
durable state (snapshot, restore) is in `engine_state.py`.
"""

from __future__ import annotations

import heapq
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from hashlib import blake2b as _blake2b

from custodywatch.contract import events as ev
from custodywatch.contract.alerts import AlertRecord, AlertState
from custodywatch.contract.episodes import EpisodeSummary
from custodywatch.contract.rejects import Reject, RejectReason
from custodywatch.core.clock import iso, to_us
from custodywatch.core.config import RuleConfig
from custodywatch.core.episode import RECORDERS, Episode, Standing
from custodywatch.core.episode_summary import summarise_episode
from custodywatch.core.rules import (
    AFFECTED_BY,
    ALL_RULES,
    Deadline,
    deadline_of,
    next_unfired_due,
    pending_deadlines,
    unfired,
)
from custodywatch.core.summary import summarise
from custodywatch.core.transitions import (
    ENDS_DETENTION,
    Settlement,
    settle,
    settlement_summary,
)


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
        future_skew_us: int | None = None,
        keep_ended: bool = False,
    ) -> None:
        """`closed_retention_us`: forget ended episodes this long after they end (None: never).

        So that "fires at most once, ever" still holds, an event for an unknown
        record that occurred longer ago than the retention is refused as
        `too_old`: it cannot be told apart from a redelivery of a forgotten one.
        `future_skew_us`: with a wall clock (`now`), refuse an event that
        occurred more than this far ahead of it (`future_event`).
        `keep_ended`: keep each ended episode's final state until
        `episode_summaries` hands out its summary (a caller that publishes
        summaries must drain them, as it drains `dirty`).
        """
        self.rules = rules
        self.closed_retention_us = closed_retention_us
        self.future_skew_us = future_skew_us
        self.keep_ended = keep_ended
        self.clock = 0
        """Deadlines due before this have fired: the partition's clock (microseconds)."""
        self.episodes: dict[str, Episode] = {}
        self.closed: dict[str, ClosedEpisode] = {}
        self.ended: dict[str, Episode] = {}
        self._due: list[tuple[int, str]] = []
        self._expiry: list[tuple[int, str]] = []
        self.dirty: set[str] = set()

    # --- events ------------------------------------------------------------

    def process(
        self, event: ev.CustodyEvent, now: int | None = None, fire_until: int | None = None
    ) -> tuple[list[AlertRecord], Outcome | Reject]:
        """Fire what fell due strictly before the event, then apply it.

        This is replay's step, and the worker's: after a backlog, a deadline an
        unread event would have cancelled is not raised. `now`: see the module.
        `fire_until`: nothing due at or after it fires (live: a backdated upload
        is still arriving).
        """
        at = to_us(event.occurred_at)
        # A stable 64-bit fingerprint of the event id (hash() is salted per process).
        fingerprint = int.from_bytes(_blake2b(event.event_id.encode(), digest_size=8).digest())
        verdict = self._admit(event, at, fingerprint, now)
        if verdict is not None:
            return [], verdict
        limit = at if now is None else min(at, now)
        if fire_until is not None and fire_until < limit:
            limit = fire_until
        due = self._due
        if due and due[0][0] < limit:
            alerts = self.advance(limit, inclusive=False, raised_at=now)
        else:  # fast path: nothing can fire
            alerts = []
            self.clock = max(self.clock, limit)
        settled = self._apply(event, at, fingerprint, now)
        if settled:
            alerts.extend(settled)
        return alerts, _ACCEPTED

    def _admit(
        self, event: ev.CustodyEvent, at: int, fingerprint: int, now: int | None
    ) -> Outcome | Reject | None:
        """Why the event must not be applied (a reject, or a duplicate), or None. No side effects."""
        rid = event.custody_record_id
        skew = self.future_skew_us
        if now is not None and skew is not None and at > now + skew:
            return Reject(
                RejectReason.FUTURE_EVENT,
                f"occurred_at {iso(at)} is {(at - now) // 1_000_000} s ahead of this service's "
                f"clock ({iso(now)}; {skew // 1_000_000} s allowed): a custody event cannot "
                f"happen in the future; check the producer's clock",
            )
        ep = self.episodes.get(rid)
        if ep is not None:  # the hot path: an event for an open episode
            if fingerprint in ep.seen:
                return _DUPLICATE
            if event.event_type == "detention_authorised":
                return Reject(
                    RejectReason.EPISODE_ALREADY_OPEN,
                    f"custody record {rid!r} is already open (detention authorised at "
                    f"{iso(ep.t0)}); a second detention_authorised is not allowed",
                )
            return None
        closed = self.closed.get(rid)
        if closed is not None:
            if fingerprint in closed.seen:
                return _DUPLICATE
            return Reject(
                RejectReason.EPISODE_ENDED,
                f"custody record {rid!r} ended at {iso(closed.ended_at)}; "
                f"no {event.event_type} can follow release or transfer to the local authority",
            )
        retention = self.closed_retention_us
        reference = self.clock if now is None else now
        if retention is not None and at < reference - retention:
            return Reject(
                RejectReason.TOO_OLD,
                f"custody record {rid!r} is not known and its {event.event_type} occurred at "
                f"{iso(at)}, more than {retention // 86_400_000_000} days before {iso(reference)}: "
                f"ended episodes are remembered that long, so it cannot be told apart from a "
                f"redelivery of one",
            )
        if not isinstance(event, ev.DetentionAuthorised):
            return Reject(
                RejectReason.ORPHAN_EVENT,
                f"custody record {rid!r} has no open episode: detention_authorised must come "
                f"before {event.event_type}",
            )
        return None

    def _apply(
        self, event: ev.CustodyEvent, at: int, fingerprint: int, now: int | None
    ) -> list[AlertRecord]:
        """Apply an admitted event; return the records of alerts it settles."""
        rid = event.custody_record_id
        ep = self.episodes.get(rid)
        if ep is None:
            assert isinstance(event, ev.DetentionAuthorised)  # _admit let only this through
            ep = Episode.open(event, at, self.rules)
            self.episodes[rid] = ep
            ep.seen.append(fingerprint)
            self.dirty.add(rid)
            self.reschedule(ep)
            return []
        kind = event.event_type
        ep.last_at = max(ep.last_at, at)  # when late evidence became known
        record = RECORDERS.get(kind)
        if record is not None:
            record(ep, event, at, self.rules)
        ep.seen.append(fingerprint)
        self.dirty.add(rid)
        settled = self._settle(ep, event, at, now) if ep.standing else []
        if kind in ENDS_DETENTION:
            self._close(ep, at)
        elif ep.juvenile or ep.rule_due is not None:  # adults have no deadlines
            affected = AFFECTED_BY[kind]
            if affected:
                self.reschedule(ep, affected)
        return settled

    def _settle(
        self, ep: Episode, event: ev.CustodyEvent, at: int, now: int | None
    ) -> list[AlertRecord]:
        """Resolve or retract the standing alerts the event settles, each once."""
        settled = settle(ep, event.event_type, at, self.rules)
        if not settled:
            return []
        done = {entry for entry, _ in settled}
        ep.standing = tuple(s for s in ep.standing if s not in done)
        if event.recorded_at is not None:
            known_at = to_us(event.recorded_at)
        else:
            known_at = max(at, self.clock if now is None else now)
        return [self._settlement(ep, entry, state, event, at, known_at) for entry, state in settled]

    def _settlement(
        self,
        ep: Episode,
        entry: Standing,
        state: Settlement,
        event: ev.CustodyEvent,
        at: int,
        known_at: int,
    ) -> AlertRecord:
        key, due, raised = entry
        d = deadline_of(key, due)
        why = settlement_summary(ep, d, state, event.event_type, at, known_at, self.rules)
        return self._record(
            ep, d, raised, state=state, state_at=at, evidence=event.event_id, summary=why
        )

    def _close(self, ep: Episode, at: int) -> None:
        del self.episodes[ep.record_id]
        self.closed[ep.record_id] = ClosedEpisode(at, ep.seen)
        if self.keep_ended:
            self.ended[ep.record_id] = ep
        self.schedule_expiry(ep.record_id, at)

    def schedule_expiry(self, rid: str, ended_at: int) -> None:
        """Forget the ended episode `rid` once the retention has passed (none: never)."""
        if self.closed_retention_us is not None:
            heapq.heappush(self._expiry, (ended_at + self.closed_retention_us, rid))

    def reschedule(self, ep: Episode, affected: tuple[int, ...] = ALL_RULES) -> None:
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
        self.clock = max(self.clock, to)
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
                    ep.standing = (*ep.standing, (d.key, d.due, raised))
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

    def _record(
        self,
        ep: Episode,
        d: Deadline,
        raised: int,
        *,
        state: AlertState = "raised",
        state_at: int | None = None,
        evidence: str | None = None,
        summary: str | None = None,
    ) -> AlertRecord:
        """The alert as published; a `raised` one is stated at its due time or the
        late evidence that made it due, whichever is later."""
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
            summary=summarise(ep, d, suite, self.rules) if summary is None else summary,
            state=state,
            state_at=iso(max(d.due, ep.last_at) if state_at is None else state_at),
            evidence_event_id=evidence,
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

    def next_expiry(self) -> int | None:
        """When the next ended episode is due to be forgotten (None: none is)."""
        return self._expiry[0][0] if self._expiry else None

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
