"""The demo's people: a webhook receiver standing in for every recipient, and the
custody sergeants of the children's suites, who acknowledge critical alerts.

Every role of the simulated force is routed to one local receiver (signed
webhooks, the signature checked as a force's receiver would). The receiver
prints each notification; the sergeants at perry-barr and oldbury (the suites
designed for children) take ownership of each critical alert a moment after
being told, so the demo shows both an
acknowledgement (escalation stops) and, elsewhere, escalation to the duty
inspector when nobody acknowledges.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from aiohttp import web

from custodywatch.alerting.ack import acknowledge
from custodywatch.alerting.clock import EventClock
from custodywatch.lifecycle.policy import EscalationPolicy
from custodywatch.lifecycle.routing import Routing, routing_from_yaml
from custodywatch.localkafka import free_port
from custodywatch.notify.signature import HEADER, verify_signature
from custodywatch.sim.routing import force_routing
from custodywatch.store.db import open_engine

LOCAL = ZoneInfo("Europe/London")
SECRET_ENV = "CUSTODYWATCH_DEMO_HOOK_SECRET"
SERGEANTS = ("suite/perry-barr/custody_sergeant", "suite/oldbury/custody_sergeant")


def demo_routing(port: int) -> Routing:
    """Every recipient of the simulated force: a signed webhook to the demo's receiver."""

    def hook(recipient: str) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{port}/hooks/{recipient}"
        return [{"type": "webhook", "url": url, "secret_env": SECRET_ENV}]

    return routing_from_yaml(json.dumps(force_routing(hook)))


class People:
    """The receiver and the acknowledging sergeant; `counts` for the summary."""

    def __init__(self, database_url: str, clock: EventClock, out: TextIO) -> None:
        self.port = free_port()
        self.secret = secrets.token_hex(16)
        os.environ[SECRET_ENV] = self.secret  # serve reads the secret the routing names
        self.database_url, self.clock, self.out = database_url, clock, out
        self.counts: Counter[str] = Counter()
        self._keys: set[str] = set()
        self._acks: set[str] = set()
        self._runner: web.AppRunner | None = None
        self._pending: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/{tail:.*}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        await asyncio.gather(*self._pending, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        now = datetime.now().timestamp()
        if not verify_signature(self.secret.encode(), request.headers.get(HEADER), body, now):
            self.counts["bad signature"] += 1
            return web.Response(status=401)
        key = request.headers.get("Idempotency-Key", "")
        if key in self._keys:  # a redelivery: receivers de-duplicate on the key
            return web.Response(status=204)
        self._keys.add(key)
        notification = json.loads(body)
        self.counts[notification["kind"]] += 1
        print(self._line(notification), file=self.out, flush=True)
        self._maybe_acknowledge(notification)
        return web.Response(status=204)

    def _line(self, n: dict[str, Any]) -> str:
        when = datetime.fromisoformat(n["created_at"]).astimezone(LOCAL).strftime("%a %H:%M")
        alerts = ", ".join(f"{a['rule']}/{a['stage']}" for a in n["alerts"])
        record = n["alerts"][0]["custody_record_id"]
        return f"    notify {when}  {n['kind']:<9} -> {n['recipient']:<36} {record}  {alerts}"

    def _maybe_acknowledge(self, n: dict[str, Any]) -> None:
        if n["recipient"] not in SERGEANTS or n["kind"] != "raised":
            return
        for alert in n["alerts"]:
            if alert["severity"] == "critical" and alert["alert_id"] not in self._acks:
                self._acks.add(alert["alert_id"])
                task = asyncio.create_task(self._acknowledge(alert["alert_id"], n["recipient"]))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)

    async def _acknowledge(self, alert_id: str, sergeant: str) -> None:
        await asyncio.sleep(0.2)  # a few simulated minutes: the sergeant reads it first
        engine = open_engine(self.database_url)
        result = await asyncio.to_thread(
            acknowledge,
            engine,
            EscalationPolicy(),
            alert_id,
            user="sgt-demo",
            role=sergeant,
            note=None,
            now_us=self.clock.now_us(),
        )
        if result.outcome == "acknowledged":
            self.counts["acknowledged"] += 1
            print(f"    ack    sgt-demo takes {alert_id}: its escalation stops", file=self.out)


def report_path() -> Path:
    return Path("build/demo/safeguarding-report.html")


def write_report(database_url: str, start: datetime, end: datetime) -> Callable[[], Path]:
    """The safeguarding report of the demo's days, from the store (with acknowledgements)."""

    def write() -> Path:
        from custodywatch.core.config import RuleConfig
        from custodywatch.report.engine import build_report
        from custodywatch.report.model import ReportQuery
        from custodywatch.report.render_html import render_html
        from custodywatch.report.store_source import from_store

        query = ReportQuery(start=start.date(), end=end.date(), suppress=False)
        summaries, alerts, outcomes = from_store(open_engine(database_url), query.start, query.end)
        report = build_report(summaries, alerts, query, RuleConfig(), end, outcomes)
        path = report_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_html(report), encoding="utf-8")
        return path

    return write
