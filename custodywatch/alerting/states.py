"""Who is waiting: open and unacknowledged alerts by severity, refreshed for /metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from custodywatch.lifecycle.case import Case
from custodywatch.lifecycle.policy import EscalationPolicy
from custodywatch.observer import Observer
from custodywatch.store.db import guarded, sessions, transaction
from custodywatch.store.schema import alerts

REFRESH_S = 5.0


class AlertStates:
    def __init__(self, engine: Engine, policy: EscalationPolicy, observer: Observer) -> None:
        self.engine, self.policy, self.observer = engine, policy, observer
        self._sessions = sessions(engine)
        self._acks_seen: datetime | None = None
        self._started = False  # the first refresh notes the acks already made, observes none

    def refresh(self) -> None:
        open_alerts: Counter[str] = Counter()
        unacked: Counter[str] = Counter()
        past: Counter[str] = Counter()
        with transaction(self._sessions) as session:
            rows = session.execute(
                select(alerts.c.severity, alerts.c.ack_at, alerts.c.lifecycle).where(
                    alerts.c.state == "raised"
                )
            )
            for severity, ack_at, lifecycle in rows:
                open_alerts[severity] += 1
                if ack_at is not None:
                    continue
                unacked[severity] += 1
                if lifecycle is not None and self._past_ladder(Case.from_dict(lifecycle)):
                    past[severity] += 1
            self._observe_new_acks(session)
        self.observer.set_alert_states(open_alerts, unacked, past)

    def _past_ladder(self, case: Case) -> bool:
        """Every step of the ladder has been taken (critical: only repeats remain)."""
        taken = max((s.step for s in case.steps), default=-1)
        return taken >= len(self.policy.ladder(case.record).steps) - 1

    def _observe_new_acks(self, session: Session) -> None:
        """Time to acknowledge, for acknowledgements made since the last refresh (any process)."""
        query = select(alerts.c.severity, alerts.c.raised_at, alerts.c.ack_at).where(
            alerts.c.ack_at.is_not(None)
        )
        if self._acks_seen is not None:
            query = query.where(alerts.c.ack_at > self._acks_seen)
        for severity, raised_at, ack_at in session.execute(query):
            if self._started:
                self.observer.alert_acknowledged(severity, (ack_at - raised_at).total_seconds())
            self._acks_seen = ack_at if self._acks_seen is None else max(self._acks_seen, ack_at)
        # Not "_acks_seen is not None": a store with no acks at start would lose its first.
        self._started = True

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(guarded, self.engine, self.refresh)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), REFRESH_S)
