"""Every panel of dashboards/custodywatch.json answers, on a real Prometheus scraping a
real worker process that has read a simulated stream (with producer mistakes, so there
are dead letters) and its clock ticks, and a real `custodywatch serve` folding the
worker's alerts into SQLite, escalating them in event time and notifying through the
Kafka channel; one alert is acknowledged with `custodywatch ack`, so that the
time-to-acknowledge panel has something to show.

Prometheus is Debian's `prometheus` package (/usr/bin/prometheus; PROMETHEUS names
another binary): a temporary configuration scraping both /metrics every second (jobs
`custodywatch` and `custodywatch-serve`, as alerts/prometheus.yml names them) and
evaluating alerts/prometheus-rules.yml, a temporary storage directory and a free port.
The test fails, never skips, when it is missing.
"""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from panels import ROOT, targets
from prometheus_client.parser import text_string_to_metric_families
from storekit import kafka_routing
from workers import Serve, WorkerProcess, finish, start

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
def prometheus(tmp_path: Path, jobs: dict[str, int]) -> Iterator[str]:
    """A Prometheus server scraping each job's 127.0.0.1:port; yields its base URL."""
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(RULES)],
                "scrape_configs": [
                    {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
                    for job, port in jobs.items()
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
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        print("prometheus.log", (tmp_path / "prometheus.log").read_text()[-3000:])


def _wait_ready(base: str, proc: subprocess.Popen[bytes], within_s: float = 60) -> None:
    """Until Prometheus answers /-/ready: its API says 503 while it opens its storage."""
    deadline = time.monotonic() + within_s
    while True:
        assert proc.poll() is None, "prometheus exited: see prometheus.log"
        try:
            with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:  # not listening yet, or 503 (an HTTPError is an OSError)
            pass
        assert time.monotonic() < deadline, f"prometheus not ready within {within_s} s"
        time.sleep(0.2)


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


async def wait_positive(
    http: aiohttp.ClientSession, base: str, promql: str, within_s: float = 60
) -> float:
    deadline = time.monotonic() + within_s
    while not (got := await value(http, base, promql)):
        assert time.monotonic() < deadline, f"{promql} is {got}, expected more than 0"
        await asyncio.sleep(0.5)
    return got


async def scraped_total(http: aiohttp.ClientSession, port: int, name: str) -> float:
    """A counter's sum over its labels, read straight from a process's /metrics."""
    async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
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


def open_by_severity(records: list[dict[str, Any]]) -> Counter[str]:
    """Alerts whose last published state is `raised`: what serve's store holds open."""
    last = {record["alert_id"]: record for record in records}
    return Counter(r["severity"] for r in last.values() if r["state"] == "raised")


def start_serve(
    settings: Settings, serves: list[Serve], tmp_path: Path
) -> tuple[int, dict[str, str]]:
    """`custodywatch serve` in event time on a fresh SQLite store, notifying through the
    Kafka channel (no receiver to run); its metrics port, and the environment for the CLI."""
    port = free_port()
    env = {
        **os.environ,
        **settings.to_env(),
        "CUSTODYWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "CUSTODYWATCH_ROUTING": kafka_routing(
            tmp_path / "routing.yaml", settings.topics.notifications
        ),
        "CUSTODYWATCH_SERVE_METRICS_PORT": str(port),
    }
    command = [sys.executable, "-m", "custodywatch.cli", "serve", "--clock-mode", "event"]
    serves.append(Serve(command, env, tmp_path / "serve-0.log"))
    return port, env


async def acknowledge(env: dict[str, str], alert_id: str) -> None:
    ack = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "custodywatch.cli", "ack", alert_id, "--by", "ops-dashboard-test"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await ack.communicate()
    assert ack.returncode == 0, output.decode()


async def test_every_panel_query_returns_data_from_a_real_prometheus(
    settings: Settings,
    stream_lines: list[bytes],
    workers: list[WorkerProcess],
    serves: list[Serve],
    tmp_path: Path,
) -> None:
    # Cut before the simulated span ends, so that some children are still in custody.
    lines = stream_lines[: len(stream_lines) * 9 // 10]
    children = children_detained_at_end(lines)
    assert children > 0
    await ensure_topics(settings)
    worker = start(settings, workers, tmp_path)
    serve_port, serve_env = start_serve(settings, serves, tmp_path)
    jobs = {"custodywatch": worker.metrics_port, "custodywatch-serve": serve_port}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        with prometheus(tmp_path, jobs) as base:
            # Scraping before the stream starts, so that every increase is seen.
            for job in jobs:
                await wait_until(http, base, f'up{{job="{job}"}}', 1.0)
            await publish_lines(settings, lines)
            records = await finish(settings, lines)
            # The worker is done: wait until Prometheus has scraped its final counts.
            for name in ("custodywatch_alerts_raised_total", "custodywatch_events_rejected_total"):
                total = await scraped_total(http, worker.metrics_port, name)
                assert total > 0, f"the simulated stream should produce some {name}"
                await wait_until(http, base, f"sum({name})", total)
            await wait_until(http, base, "sum(custodywatch_juveniles_detained)", children)
            started = time.monotonic()
            await serve_has_everything(http, base, serve_env, records)
            print(
                f"serve folded, escalated, notified and saw the ack in {time.monotonic() - started:.1f} s"
            )

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
            for severity, count in open_by_severity(records).items():
                promql = (
                    f'custodywatch_alerts_open{{job="custodywatch-serve",severity="{severity}"}}'
                )
                assert await value(http, base, promql) == count
            # Hours of event time past the early critical alerts: some are past the ladder.
            past = 'custodywatch_alerts_unacknowledged_past_ladder{severity="critical"}'
            assert (await value(http, base, f"max({past})") or 0) > 0
            restored = 'sum(custodywatch_partition_restore_seconds_count{job="custodywatch"})'
            assert await value(http, base, restored) == settings.partitions
            dead = await value(
                http, base, f"sum(increase(custodywatch_events_rejected_total[{WINDOW}]))"
            )
            assert dead is not None and dead > 0

            await rules_evaluate_cleanly(http, base)


async def serve_has_everything(
    http: aiohttp.ClientSession, base: str, env: dict[str, str], records: list[dict[str, Any]]
) -> None:
    """Until serve has folded every alert, taken escalation steps and notified, and one
    acknowledgement shows in the time-to-acknowledge histogram."""
    opened = open_by_severity(records)
    assert opened["critical"] > 0, "the simulated stream should leave critical alerts open"
    serve = 'job="custodywatch-serve"'
    await wait_until(http, base, f"sum(custodywatch_alerts_open{{{serve}}})", opened.total())
    last = {record["alert_id"]: record for record in records}
    chosen = next(a for a, r in sorted(last.items()) if r["state"] == "raised")
    await acknowledge(env, chosen)
    await wait_until(
        http, base, f"sum(custodywatch_time_to_acknowledge_seconds_count{{{serve}}})", 1.0
    )
    await wait_until(
        http, base, f"sum(custodywatch_alerts_unacknowledged{{{serve}}})", opened.total() - 1
    )
    # In event time the last tick is hours past the early alerts' raise: steps are due.
    await wait_positive(http, base, f"sum(custodywatch_escalation_steps_total{{{serve}}})")
    await wait_positive(http, base, f"sum(custodywatch_notifications_delivered_total{{{serve}}})")


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
