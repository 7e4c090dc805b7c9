"""`custodywatch serve`: the store fold, the lifecycle, escalation timers and delivery.

One process, six tasks sharing a stop event: the fold (Kafka into SQL, with
each alert record's lifecycle decision in the same transaction), the timers,
the outbox delivery loop, the lifecycle clock, the alert-state gauges, and the
monthly reports to each LA's safeguarding partnership.
If one task fails, the others stop and the failure is reported.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import AsyncExitStack

from custodywatch.alerting.clock import Clock, EventClock, WallClock
from custodywatch.alerting.delivery import Outbox, open_dispatcher
from custodywatch.alerting.hooks import LifecycleHooks
from custodywatch.alerting.monthly import MonthlyReports, StoredReportFiles
from custodywatch.alerting.states import AlertStates
from custodywatch.alerting.timers import Timers
from custodywatch.config import ClockMode, Settings
from custodywatch.core.config import RuleConfig
from custodywatch.lifecycle.policy import EscalationPolicy
from custodywatch.lifecycle.routing import Routing
from custodywatch.notify.outbox import run_outbox
from custodywatch.notify.retry import RetryPolicy
from custodywatch.observer import Observer
from custodywatch.store.db import describe, migrate, open_engine
from custodywatch.store.fold import Fold

log = logging.getLogger("custodywatch.serve")


async def serve(
    settings: Settings,
    policy: EscalationPolicy,
    routing: Routing,
    observer: Observer,
    *,
    batch: int,
    stop: asyncio.Event | None = None,
    clock: Clock | None = None,
    rules: RuleConfig | None = None,
) -> None:
    """Until SIGTERM / SIGINT, or until `stop` is set when the caller passes one
    (the demo: it handles the signals itself, and shares the clock to acknowledge).
    `rules`: what the monthly reports are made with (the built-in rules by default)."""
    engine = open_engine(settings.database_url)
    migrate(engine)
    log.info("store ready", extra={"database": describe(settings.database_url)})
    if clock is None:
        clock = EventClock(settings) if settings.clock_mode is ClockMode.EVENT else WallClock()
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    outbox_written = asyncio.Event()  # the delivery loop wakes as soon as rows are committed
    hooks = LifecycleHooks(policy, routing, clock)
    fold = Fold(settings, engine, hooks=hooks, batch=batch, written=outbox_written)
    timers = Timers(engine, policy, routing, clock, observer, written=outbox_written)
    box = Outbox(engine)
    retry = RetryPolicy(base_s=settings.notify_retry_base_s)
    async with AsyncExitStack() as stack:
        dispatcher = await open_dispatcher(
            settings, routing, observer, stack, report_files=StoredReportFiles(engine)
        )
        reports = MonthlyReports(engine, routing, rules or RuleConfig(), clock)
        tasks = [
            asyncio.create_task(fold.run(stop), name="fold"),
            asyncio.create_task(timers.run(stop), name="timers"),
            asyncio.create_task(
                run_outbox(
                    box.claim_due,
                    box.record,
                    dispatcher,
                    observer,
                    retry,
                    stop,
                    wake=outbox_written,
                ),
                name="delivery",
            ),
            asyncio.create_task(clock.run(stop), name="clock"),
            asyncio.create_task(AlertStates(engine, policy, observer).run(stop), name="states"),
            asyncio.create_task(reports.run(stop), name="reports"),
        ]
        log.info(
            "serve running",
            extra={"clock": settings.clock_mode.value, "group": settings.group_id},
        )
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
    log.info("serve stopped", extra={"folded": fold.stats.alert_records})
