"""Alerts reach people: worker -> alerts topic -> `custodywatch serve` -> signed webhooks.

On the real broker, a real database (SQLite, and PostgreSQL with two serve
instances at once), and a real HTTP receiver that checks every signature: a
child's breach tells the custody sergeant at once, climbs to the duty inspector
when nobody acknowledges, stops climbing when acknowledged, and everyone told
gets one notice when the release resolves it. Time is event time (ticks).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from workers import WorkerProcess, start

from custodywatch.config import Settings
from custodywatch.core.clock import to_us
from custodywatch.localkafka import free_port
from custodywatch.notify.signature import HEADER, verify_signature
from custodywatch.sim.routing import force_routing
from custodywatch.stream.changelog import ensure_topics
from custodywatch.stream.publisher import publish_lines, send_ticks

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="session")]

SECRET = "test-signing-secret"
T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
BREACH = "KID/detention_duration/breach"


@dataclass
class Receiver:
    """A webhook receiver as a force would run one: checks signatures, de-duplicates."""

    port: int
    received: list[dict[str, Any]] = field(default_factory=list)
    keys: Counter[str] = field(default_factory=Counter)
    bad_signatures: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        now = datetime.now(UTC).timestamp()
        if not verify_signature(SECRET.encode(), request.headers.get(HEADER), body, now):
            self.bad_signatures += 1
            return web.Response(status=401)
        key = request.headers["Idempotency-Key"]
        self.keys[key] += 1
        if self.keys[key] == 1:
            self.received.append(json.loads(body))
        return web.Response(status=204)

    def told(self, alert_id: str) -> list[tuple[str, str]]:
        """(recipient, kind) of every distinct notification carrying the alert."""
        return [
            (n["recipient"], n["kind"])
            for n in self.received
            if any(a["alert_id"] == alert_id for a in n["alerts"])
        ]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    got = Receiver(free_port())
    app = web.Application()
    app.router.add_post("/hooks/{tail:.*}", got.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", got.port).start()
    yield got
    await runner.cleanup()


def routing_file(path: Path, port: int) -> Path:
    """Every role of every suite and LA: a webhook to the receiver, one shared secret."""

    def hook(recipient: str) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{port}/hooks/{recipient}"
        return [{"type": "webhook", "url": url, "secret_env": "CW_TEST_SECRET"}]

    path.write_text(json.dumps(force_routing(hook)))  # JSON is YAML
    return path


class ServeProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "custodywatch.cli", "serve", "--clock-mode", "event"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def event(kind: str, at: datetime, **payload: Any) -> bytes:
    return json.dumps(
        {
            "schema_version": 1,
            "event_id": f"KID-{kind}-{at.isoformat()}",
            "event_type": kind,
            "custody_record_id": "KID",
            "suite_id": "perry-barr",
            "occurred_at": at.isoformat(),
            "payload": payload,
        }
    ).encode()


OPENING = event(
    "detention_authorised",
    T0,
    detainee={"person_ref": "P-KID", "appears_under_18": True},
    arrested_at=(T0 - timedelta(minutes=40)).isoformat(),
    arrived_at=(T0 - timedelta(minutes=10)).isoformat(),
    arrest_basis="new_offence",
    offence_category="theft",
    home_local_authority="sandwell",
)


async def until(predicate: Any, what: str, within_s: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.3)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "custodywatch.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("engine", "instances"), [("sqlite", 1), ("postgresql", 2)])
async def test_a_breach_reaches_the_sergeant_climbs_to_the_inspector_and_is_resolved(
    settings: Settings,
    workers: list[WorkerProcess],
    receiver: Receiver,
    tmp_path: Path,
    engine: str,
    instances: int,
    request: pytest.FixtureRequest,
) -> None:
    if engine == "sqlite":
        database = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        database = request.getfixturevalue("postgres").create_database("serve_e2e")
    env = {
        **os.environ,
        **settings.to_env(),
        "CUSTODYWATCH_DATABASE_URL": database,
        "CUSTODYWATCH_ROUTING": str(routing_file(tmp_path / "routing.yaml", receiver.port)),
        "CW_TEST_SECRET": SECRET,
        "CUSTODYWATCH_SERVE_METRICS_PORT": "0",
    }
    await ensure_topics(settings)
    start(settings, workers, tmp_path)
    serves = [ServeProcess(env, tmp_path / f"serve-{i}.log") for i in range(instances)]
    try:
        aa = [
            event("appropriate_adult_requested", T0 + timedelta(minutes=10)),
            event("appropriate_adult_arrived", T0 + timedelta(minutes=40)),
            event("detention_reviewed", T0 + timedelta(hours=5, minutes=50)),
        ]
        await publish_lines(settings, [OPENING, *aa])
        await send_ticks(settings, to_us(T0 + timedelta(hours=6, seconds=1)))
        sergeant = "suite/perry-barr/custody_sergeant"
        inspector = "suite/perry-barr/duty_inspector"
        await until(lambda: (sergeant, "raised") in receiver.told(BREACH), "the sergeant's alert")

        # Nobody acknowledges: 15 minutes on, the duty inspector is told.
        await send_ticks(settings, to_us(T0 + timedelta(hours=6, minutes=16)))
        await until(lambda: (inspector, "escalated") in receiver.told(BREACH), "the escalation")

        ack = cli(env, "ack", BREACH, "--by", "sgt-4471", "--note", "on it")
        assert ack.returncode == 0, ack.stderr
        assert "acknowledged" in ack.stderr
        again = cli(env, "ack", BREACH, "--by", "sgt-9")
        assert again.returncode == 0 and "already acknowledged" in again.stderr

        # Acknowledged: no superintendent at +45 min. Then the release resolves it.
        await send_ticks(settings, to_us(T0 + timedelta(hours=6, minutes=50)))
        await publish_lines(settings, [event("released", T0 + timedelta(hours=7), disposal="bail")])
        await send_ticks(settings, to_us(T0 + timedelta(hours=7)))
        await until(
            lambda: {(sergeant, "resolved"), (inspector, "resolved")} <= set(receiver.told(BREACH)),
            "the resolution notices",
        )
        await asyncio.sleep(3)  # anything sent twice, or late, would be here by now

        told = receiver.told(BREACH)
        assert told.count((sergeant, "raised")) == 1
        assert told.count((inspector, "escalated")) == 1
        assert not [r for r, kind in told if r == "force/superintendent"], told
        assert told.count((sergeant, "resolved")) == told.count((inspector, "resolved")) == 1
        assert receiver.bad_signatures == 0
        history = cli(env, "alerts", "show", BREACH, "--json")
        assert history.returncode == 0, history.stderr
        kinds = [entry["kind"] for entry in json.loads(history.stdout)["log"]]
        for kind in ("raised", "notified", "delivery_attempt", "acknowledged", "resolved"):
            assert kind in kinds, kinds
        # Each step of each alert was taken once, whichever instance took it.
        steps = Counter(
            (n["alerts"][0]["alert_id"], n["step"], n["recipient"], n["kind"])
            for n in receiver.received
        )
        assert max(steps.values()) == 1, steps
    finally:
        for serve in serves:
            serve.stop()
        for i in range(len(serves)):
            log = tmp_path / f"serve-{i}.log"
            print(log.name, log.read_text()[-4000:])  # shown when the test fails
