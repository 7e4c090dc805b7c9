"""The one place that wires adapters to the core: settings in, running service out."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from prometheus_client import CollectorRegistry

from custodywatch.config import Settings
from custodywatch.core.config import RuleConfig, rules_from_yaml
from custodywatch.metrics import PrometheusObserver, serve_metrics
from custodywatch.stream.worker import Worker

log = logging.getLogger("custodywatch")


def load_rules(path: Path | None) -> RuleConfig:
    return RuleConfig() if path is None else rules_from_yaml(path.read_text(encoding="utf-8"))


def build_worker(settings: Settings, registry: CollectorRegistry) -> Worker:
    return Worker(settings, load_rules(settings.rules_path), PrometheusObserver(registry))


async def run_worker(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT; /metrics is served while it runs."""
    registry = CollectorRegistry()
    worker = build_worker(settings, registry)
    server = None
    if settings.metrics_port is not None:
        server = serve_metrics(registry, settings.metrics_host, settings.metrics_port)
        log.info("metrics on http://%s:%d/metrics", settings.metrics_host, settings.metrics_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker starting: group %s, clock %s, bootstrap %s",
        settings.group_id,
        settings.clock_mode.value,
        settings.kafka.bootstrap_servers,
    )
    try:
        await worker.run(stop)
    finally:
        if server is not None:
            server.shutdown()
