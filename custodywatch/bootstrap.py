"""The one place that wires adapters to the core: settings in, running service out."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, ProcessCollector

from custodywatch import core_build
from custodywatch.config import Settings
from custodywatch.core.config import RuleConfig
from custodywatch.metrics import PrometheusObserver
from custodywatch.metrics_http import serve_metrics
from custodywatch.stream.worker import Worker

if TYPE_CHECKING:  # serve's only: the worker starts without importing them
    from custodywatch.lifecycle.policy import EscalationPolicy
    from custodywatch.lifecycle.routing import Routing

log = logging.getLogger("custodywatch")


async def run_worker(settings: Settings, rules: RuleConfig, member: str | None = None) -> None:
    """Run until SIGTERM or SIGINT; /metrics is served while it runs.

    `member`: which of `worker --processes N` this is ("2 of 4"), for the log."""
    registry = CollectorRegistry()
    # process_start_time_seconds and friends: the dashboard counts restarts from it.
    ProcessCollector(registry=registry)
    worker = Worker(settings, rules, PrometheusObserver(registry))
    server = None
    if settings.metrics_port is not None:
        server = serve_metrics(registry, settings.metrics_host, settings.metrics_port)
        # server.port, not the setting: with port 0 the system chose one.
        log.info("metrics on http://%s:%d/metrics", settings.metrics_host, server.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker %sstarting: group %s, clock %s, bootstrap %s, core %s",
        "" if member is None else f"{member} ",
        settings.group_id,
        settings.clock_mode.value,
        settings.kafka.bootstrap_servers,
        core_build(),
    )
    try:
        await worker.run(stop)
    finally:
        if server is not None:
            server.shutdown()


async def run_serve(
    settings: Settings,
    policy: EscalationPolicy,
    routing: Routing,
    rules: RuleConfig,
    *,
    batch: int,
) -> None:
    """`custodywatch serve` until SIGTERM or SIGINT, with its own /metrics."""
    from custodywatch.alerting.service import serve

    registry = CollectorRegistry()
    ProcessCollector(registry=registry)  # restarts: process_start_time_seconds
    observer = PrometheusObserver(registry)
    server = None
    if settings.serve_metrics_port is not None:
        server = serve_metrics(registry, settings.metrics_host, settings.serve_metrics_port)
        log.info("serve metrics on http://%s:%d/metrics", settings.metrics_host, server.port)
    try:
        await serve(settings, policy, routing, observer, batch=batch, rules=rules)
    finally:
        if server is not None:
            server.shutdown()
