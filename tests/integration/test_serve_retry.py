"""A webhook receiver that fails for a while (HTTP 500, or nothing listening) gets every
notification once it recovers, through `custodywatch serve` on the real broker.

The retry schedule's base is lowered (CUSTODYWATCH_NOTIFY_RETRY_BASE_S) so the
test takes seconds, not minutes; the schedule itself is the production one.
Every failed attempt is in the store's log; no notification is given up.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import Engine, select
from storekit import alert, migrated, session_of
from test_serve import SECRET, Receiver, ServeProcess, routing_file
from test_store_serve import produce, settings

from custodywatch.config import Settings
from custodywatch.contract.alerts import AlertRecord
from custodywatch.localkafka import free_port
from custodywatch.store.fold import ensure_fold_topics
from custodywatch.store.schema import alert_log, outbox

__all__ = ["settings"]  # the fixture: topics and group of this test alone

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="session")]

ALERTS = 30


class Flaky(Receiver):
    """Answers 500 while `failing`; then as the force's receiver would."""

    failing: bool = True
    refused_requests: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        if self.failing:
            self.refused_requests += 1
            await request.read()
            return web.Response(status=500, text="receiver down for maintenance")
        return await super().handle(request)


async def listen(receiver: Receiver) -> web.AppRunner:
    app = web.Application()
    app.router.add_post("/hooks/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
    return runner


def stream() -> list[AlertRecord]:
    """Raises in several suites, a third of them resolved: raise and resolution notices."""
    suites = ("perry-barr", "bournville-lane", "wolverhampton")
    out = [alert(n, suite=suites[n % 3]) for n in range(ALERTS)]
    return out + [
        alert(n, "resolved", minutes=90, suite=suites[n % 3]) for n in range(0, ALERTS, 3)
    ]


def attempts(engine: Engine) -> tuple[dict[str, int], int, int]:
    """Outbox key -> attempts; rows delivered; failed attempts in the log."""
    with session_of(engine) as session:
        rows = session.execute(
            select(outbox.c.idempotency_key, outbox.c.attempts, outbox.c.delivered_at)
        ).all()
        failures = [
            d
            for (d,) in session.execute(
                select(alert_log.c.details).where(alert_log.c.kind == "delivery_attempt")
            )
            if not d["ok"]
        ]
    keys = {str(k): int(a) for k, a, _ in rows}
    return keys, sum(1 for *_, at in rows if at is not None), len(failures)


async def until(check: object, what: str, within_s: float = 90) -> None:
    deadline = time.monotonic() + within_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.3)


@pytest.mark.parametrize("failure", ["http_500", "connection_refused"])
async def test_a_receiver_that_fails_for_a_while_gets_every_notification_once_back(
    settings: Settings, tmp_path: Path, failure: str
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = migrated(url)
    receiver = Flaky(free_port())
    receiver.failing = failure == "http_500"
    runner = await listen(receiver) if failure == "http_500" else None
    env = {
        **os.environ,
        **settings.to_env(),
        "CUSTODYWATCH_DATABASE_URL": url,
        "CUSTODYWATCH_ROUTING": str(routing_file(tmp_path / "routing.yaml", receiver.port)),
        "CW_TEST_SECRET": SECRET,
        "CUSTODYWATCH_SERVE_METRICS_PORT": "0",
        "CUSTODYWATCH_NOTIFY_RETRY_BASE_S": "0.5",
        "CUSTODYWATCH_WEBHOOK_TIMEOUT_S": "2",
    }
    await ensure_fold_topics(settings)
    serve = ServeProcess(env, tmp_path / "serve.log")
    try:
        await produce(settings, stream())
        # Down long enough that every notification has failed at least twice.
        await until(
            lambda: (got := attempts(engine))[0] and min(got[0].values()) >= 2,
            "every notification to fail twice",
        )
        keys, delivered, failed = attempts(engine)
        assert delivered == 0 and not receiver.received
        if runner is None:
            runner = await listen(receiver)  # the receiver comes back on its port
        receiver.failing = False
        await until(lambda: attempts(engine)[1] == len(attempts(engine)[0]), "every delivery")
        await asyncio.sleep(2)  # anything sent again after its delivery would be here by now
        keys, delivered, failed = attempts(engine)
    finally:
        serve.stop()
        if runner is not None:
            await runner.cleanup()
        print((tmp_path / "serve.log").read_text()[-3000:])  # shown when the test fails

    assert set(receiver.keys) == set(keys)  # every notification, and none the store lacks
    assert max(receiver.keys.values()) == 1  # delivered once it was back: not repeated
    assert failed >= 2 * len(keys)  # each failed attempt is in the log
    if failure == "http_500":
        assert receiver.refused_requests >= 2 * len(keys)
    told = Counter(
        (a["alert_id"], n["step"], n["recipient"], n["kind"])
        for n in receiver.received
        for a in n["alerts"]
    )
    assert max(told.values()) == 1
    raised = {a for a, _, _, kind in told if kind == "raised"}
    resolved = {a for a, _, _, kind in told if kind == "resolved"}
    assert len(raised) == ALERTS and len(resolved) == len(range(0, ALERTS, 3))
    assert receiver.bad_signatures == 0
