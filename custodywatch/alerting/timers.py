"""Escalation timers, kept in the database (`alerts.next_step_at`), fired when due.

Each pass claims the due rows `FOR UPDATE SKIP LOCKED` (PostgreSQL), takes each
alert's due steps with the lifecycle core and stores the result in the same
transaction: two `serve` instances never take the same step, and a restart
picks up every timer where it was. SQLite serialises writers, so one instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import Engine

from custodywatch.alerting.cases import apply, load_case, moment
from custodywatch.alerting.clock import Clock
from custodywatch.lifecycle.decide import advance
from custodywatch.lifecycle.policy import EscalationPolicy
from custodywatch.lifecycle.routing import Routing
from custodywatch.observer import Observer
from custodywatch.store.db import guarded, sessions, transaction
from custodywatch.store.queries import claim_due_escalations

log = logging.getLogger("custodywatch.serve.timers")

BATCH = 100


class Timers:
    def __init__(
        self,
        engine: Engine,
        policy: EscalationPolicy,
        routing: Routing,
        clock: Clock,
        observer: Observer,
        interval_s: float = 0.25,
        written: asyncio.Event | None = None,
    ) -> None:
        """`written`: set after each pass that took a step (its notifications are committed)."""
        self.engine, self.policy, self.routing = engine, policy, routing
        self.written = written
        self.clock, self.observer, self.interval_s = clock, observer, interval_s
        self._sessions = sessions(engine)

    def pass_once(self) -> int:
        """Take every step due now, for at most BATCH alerts; how many alerts moved."""
        now = self.clock.now_us()
        moved = 0
        with transaction(self._sessions) as session:
            for row in claim_due_escalations(session, moment(now), limit=BATCH):
                case = load_case(session, row.alert_id)
                if case is None:
                    continue
                decision = advance(case, now, self.policy, self.routing)
                apply(session, decision, now, self.policy.group_window)
                for step in decision.case.steps[len(case.steps) :]:
                    lateness = max(step.at - step.due_at, 0) / 1e6
                    self.observer.escalation_step(case.record.severity, step.step, lateness)
                moved += 1
        return moved

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            moved = await asyncio.to_thread(guarded, self.engine, self.pass_once)
            if moved:
                log.info("escalation steps taken", extra={"alerts": moved})
                if self.written is not None:
                    self.written.set()
                continue  # more may be due
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval_s)
