"""Every panel of dashboards/custodywatch.json answers, on a real Prometheus scraping a
real worker process that has read a simulated stream (with producer mistakes, so there
are dead letters) and its clock ticks.

Prometheus is Debian's `prometheus` package (/usr/bin/prometheus; PROMETHEUS names
another binary): a temporary configuration scraping the worker's /metrics every second
and evaluating alerts/prometheus-rules.yml, a temporary storage directory and a free port.
The test fails, never skips, when it is missing.
"""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from panels import ROOT, targets
from prometheus_client.parser import text_string_to_metric_families
from workers import WorkerProcess, finish, start

from custodywatch.config import Settings
from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.config import RuleConfig
from custodywatch.core.engine import Engine
from custodywatch.localkafka import free_port
from custodywatch.stream.changelog import ensure_topics
from custodywatch.stream.publisher import publish_lines

pytestmark = pytest.mark.kafka

RULES = ROOT / "alerts" / "prometheus-rules.yml"
# Grafana's $__range and $__rate_interval: longer than the whole test, so that a panel
# over "the selected range" sees everything the worker did.
WINDOW = "15m"


def _prometheus_binary() -> str:
    path = os.environ.get("PROMETHEUS") or shutil.which("prometheus")
    if path is None:
        pytest.fail(
            "prometheus not found: install the `prometheus` package "
            "(apt-get install -y --no-install-recommends prometheus) or set PROMETHEUS=/path"
        )
    return path


@contextmanager
def prometheus(tmp_path: Path, metrics_port: int) -> Iterator[str]:
    """A Prometheus server scraping 127.0.0.1:metrics_port; yields its base URL."""
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(RULES)],
                "scrape_configs": [
                    {
                        "job_name": "custodywatch",
                        "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            _prometheus_binary(),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        print("prometheus.log", (tmp_path / "prometheus.log").read_text()[-3000:])


async def query(http: aiohttp.ClientSession, base: str, promql: str) -> list[dict[str, Any]]:
    async with http.get(f"{base}/api/v1/query", params={"query": promql}) as response:
        body = await response.json()
    assert body["status"] == "success", f"{promql}: {body.get('error')}"
    assert not body.get("warnings"), f"{promql}: {body['warnings']}"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


async def value(http: aiohttp.ClientSession, base: str, promql: str) -> float | None:
    """The value of a single-series query, or None while it has no data."""
    try:
        result = await query(http, base, promql)
    except aiohttp.ClientConnectionError:  # Prometheus is still starting
        return None
    return float(result[0]["value"][1]) if result else None


async def wait_until(
    http: aiohttp.ClientSession, base: str, promql: str, want: float, within_s: float = 120
) -> None:
    deadline = time.monotonic() + within_s
    while (got := await value(http, base, promql)) != want:
        assert time.monotonic() < deadline, f"{promql} is {got}, expected {want}"
        await asyncio.sleep(0.5)


async def scraped_total(http: aiohttp.ClientSession, worker: WorkerProcess, name: str) -> float:
    """A counter's sum over its labels, read straight from the worker's /metrics."""
    async with http.get(f"http://127.0.0.1:{worker.metrics_port}/metrics") as response:
        text = await response.text()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


def children_detained_at_end(lines: list[bytes]) -> int:
    """How many children replay's engine still holds after these lines."""
    engine = Engine(RuleConfig())
    for line in lines:
        event = decode(line)
        if not isinstance(event, Reject):
            engine.process(event)
    return sum(engine.juveniles_by_suite().values())


async def test_every_panel_query_returns_data_from_a_real_prometheus(
    settings: Settings, stream_lines: list[bytes], workers: list[WorkerProcess], tmp_path: Path
) -> None:
    # Cut before the simulated span ends, so that some children are still in custody.
    lines = stream_lines[: len(stream_lines) * 9 // 10]
    children = children_detained_at_end(lines)
    assert children > 0
    await ensure_topics(settings)
    worker = start(settings, workers, tmp_path)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        with prometheus(tmp_path, worker.metrics_port) as base:
            # Scraping before the stream starts, so that every increase is seen.
            await wait_until(http, base, 'up{job="custodywatch"}', 1.0)
            await publish_lines(settings, lines)
            await finish(settings, lines)
            # The worker is done: wait until Prometheus has scraped its final counts.
            for name in ("custodywatch_alerts_raised_total", "custodywatch_events_rejected_total"):
                total = await scraped_total(http, worker, name)
                assert total > 0, f"the simulated stream should produce some {name}"
                await wait_until(http, base, f"sum({name})", total)
            await wait_until(http, base, "sum(custodywatch_juveniles_detained)", children)

            empty, nan, unresolved = [], [], []
            figures = []
            for target in targets():
                promql = target.promql(WINDOW)
                result = await query(http, base, promql)
                values = [float(series["value"][1]) for series in result]
                figures.append(f"{len(result):>3} series  {target.panel} [{target.legend}]")
                if not result:
                    empty.append(f"{target.panel}: {promql}")
                elif all(math.isnan(v) for v in values):
                    nan.append(f"{target.panel}: {promql}")
                for series in result:
                    missing = target.placeholders - series["metric"].keys()
                    if missing:
                        unresolved.append(f"{target.panel}: legend {target.legend} {missing}")
            print("\n".join(figures))
            assert empty == [], "panels with no data"
            assert nan == [], "panels showing only NaN"
            assert unresolved == [], "legends naming labels the result does not carry"

            # A few figures the stream fixes, as the panels show them.
            restored = 'sum(custodywatch_partition_restore_seconds_count{job="custodywatch"})'
            assert await value(http, base, restored) == settings.partitions
            dead = await value(
                http, base, f"sum(increase(custodywatch_events_rejected_total[{WINDOW}]))"
            )
            assert dead is not None and dead > 0

            await rules_evaluate_cleanly(http, base)


async def rules_evaluate_cleanly(http: aiohttp.ClientSession, base: str) -> None:
    """Every alert rule of alerts/prometheus-rules.yml loaded and evaluated without error."""
    names = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
    }
    deadline = time.monotonic() + 60
    while True:
        async with http.get(f"{base}/api/v1/rules") as response:
            body = await response.json()
        rules = [rule for group in body["data"]["groups"] for rule in group["rules"]]
        evaluated = {r["name"] for r in rules if not r["lastEvaluation"].startswith("0001-")}
        if evaluated >= names:
            break
        assert time.monotonic() < deadline, f"rules not evaluated: {names - evaluated}"
        await asyncio.sleep(0.5)
    assert {r["name"] for r in rules} == names
    failing = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert failing == {}
