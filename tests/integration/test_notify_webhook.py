"""The webhook notifier against a real aiohttp receiver on 127.0.0.1.

The receiver does what the docs ask of one: verify the signature (with its own
clock), de-duplicate on Idempotency-Key. The outbox is an in-memory fake of the
store's two callables; the HTTP is real, and so are the failures.
"""

from __future__ import annotations

import asyncio
import collections
import random
import socket
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from aiohttp import web
from notification_builders import notification
from prometheus_client import CollectorRegistry

from custodywatch.config import WebhookSettings
from custodywatch.contract.notifications import NOTIFICATION_ADAPTER, Notification
from custodywatch.metrics import PrometheusObserver
from custodywatch.notify.delivery import DeliveryResult, Dispatcher
from custodywatch.notify.outbox import Claimed, Recorded, deliver_due
from custodywatch.notify.retry import RetryPolicy
from custodywatch.notify.signature import HEADER, verify_signature
from custodywatch.notify.webhook import WebhookNotifier

SECRET = "receiver-secret-0123456789"
FAST = RetryPolicy(base_s=0.01, cap_s=0.05, give_up_after_s=60)
"""The production schedule's shape at a test's pace."""


class Receiver:
    """A webhook receiver; the first `fail_first` attempts of each key get a 500
    after the body was taken in (an acknowledgement lost on the way back)."""

    def __init__(self, secret: str = SECRET, fail_first: int = 0) -> None:
        self.secret = secret.encode()
        self.fail_first = fail_first
        self.processed: dict[str, bytes] = {}
        self.attempts: collections.Counter[str] = collections.Counter()
        self.bad_signatures = 0
        self.content_types: set[str] = set()
        self.release = asyncio.Event()

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify_signature(self.secret, request.headers.get(HEADER), body, time.time()):
            self.bad_signatures += 1
            return web.Response(status=401)
        key = request.headers["Idempotency-Key"]
        self.content_types.add(request.headers["Content-Type"])
        self.attempts[key] += 1
        self.processed.setdefault(key, body)  # a repeated key is not processed again
        if self.attempts[key] <= self.fail_first:
            return web.Response(status=500)
        return web.Response(status=200)

    async def status(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]))

    async def hang(self, request: web.Request) -> web.Response:
        await self.release.wait()
        return web.Response(status=200)


@asynccontextmanager
async def serve(receiver: Receiver, port: int = 0) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/hook", receiver.hook)
    app.router.add_post("/status/{code}", receiver.status)
    app.router.add_post("/hang", receiver.hang)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        receiver.release.set()
        await runner.cleanup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MemoryOutbox:
    def __init__(self, items: Sequence[Notification]) -> None:
        self.due = {n.idempotency_key: (Claimed(n), 0.0) for n in items}
        self.final: dict[str, Recorded] = {}
        self.failures: list[str] = []

    async def claim_due(self, now: float, limit: int) -> list[Claimed]:
        claimed = [c for c, at in self.due.values() if at <= now][:limit]
        for c in claimed:
            self.due[c.notification.idempotency_key] = (c, float("inf"))
        return claimed

    async def record(self, claimed: Claimed, recorded: Recorded) -> None:
        key = claimed.notification.idempotency_key
        if recorded.reason is not None:
            self.failures.append(recorded.reason)
        if recorded.status == "pending":
            assert recorded.next_attempt_at is not None
            follow = Claimed(claimed.notification, recorded.failures, recorded.first_attempt_at)
            self.due[key] = (follow, recorded.next_attempt_at)
        else:
            del self.due[key]
            self.final[key] = recorded

    async def drain(
        self, dispatcher: Dispatcher, observer: PrometheusObserver, passes: int
    ) -> None:
        """Loop passes until nothing is left, or `passes` passes."""
        rng = random.Random(3)
        for _ in range(passes):
            if not self.due:
                return
            await deliver_due(
                self.claim_due, self.record, dispatcher, observer, FAST, rand=rng.random
            )
            await asyncio.sleep(0.005)


def batch(base: str, count: int) -> list[Notification]:
    return [notification(i, address=f"{base}/hook") for i in range(1, count + 1)]


async def test_a_failing_receiver_gets_every_notification_exactly_once() -> None:
    receiver = Receiver(fail_first=2)
    registry = CollectorRegistry()
    observer = PrometheusObserver(registry)
    async with serve(receiver) as base, WebhookNotifier(WebhookSettings(secret=SECRET)) as hook:
        items = batch(base, 5)
        outbox = MemoryOutbox(items)
        await outbox.drain(Dispatcher({"webhook": hook}, observer), observer, passes=2000)
    assert {k: r.status for k, r in outbox.final.items()} == {
        n.idempotency_key: "delivered" for n in items
    }
    assert receiver.processed == {
        n.idempotency_key: NOTIFICATION_ADAPTER.dump_json(n) for n in items
    }
    assert receiver.attempts == {
        n.idempotency_key: 3 for n in items
    }  # at least once, de-duplicated
    assert receiver.bad_signatures == 0
    assert receiver.content_types == {"application/json"}
    assert outbox.failures == ["server_error"] * 10
    delivered = {"channel": "webhook", "kind": "raised"}
    assert registry.get_sample_value("custodywatch_notifications_delivered_total", delivered) == 5
    labels = {"channel": "webhook", "reason": "server_error"}
    assert (
        registry.get_sample_value("custodywatch_notification_attempts_failed_total", labels) == 10
    )


async def test_a_receiver_that_is_down_then_up_gets_each_notification_once() -> None:
    port = free_port()
    observer = PrometheusObserver(CollectorRegistry())
    receiver = Receiver()
    async with WebhookNotifier(WebhookSettings(secret=SECRET)) as hook:
        dispatcher = Dispatcher({"webhook": hook}, observer)
        items = batch(f"http://127.0.0.1:{port}", 3)
        outbox = MemoryOutbox(items)
        while len(outbox.failures) < 6:  # every one refused at least twice
            await outbox.drain(dispatcher, observer, passes=1)
        assert set(outbox.failures) == {"connection"} and not outbox.final
        async with serve(receiver, port):
            await outbox.drain(dispatcher, observer, passes=2000)
    assert {r.status for r in outbox.final.values()} == {"delivered"}
    assert set(receiver.processed) == {n.idempotency_key for n in items}
    assert receiver.attempts == {n.idempotency_key: 1 for n in items}


async def test_status_codes_decide_retry_or_permanent() -> None:
    receiver = Receiver()
    async with serve(receiver) as base, WebhookNotifier(WebhookSettings(secret=SECRET)) as hook:
        results = {
            code: await hook.deliver(notification(address=f"{base}/status/{code}"))
            for code in (200, 204, 301, 400, 404, 408, 410, 429, 500, 503)
        }
    assert results == {
        200: DeliveryResult.delivered(),
        204: DeliveryResult.delivered(),
        301: DeliveryResult.permanent("rejected", "HTTP 301"),  # never follows a redirect
        400: DeliveryResult.permanent("rejected", "HTTP 400"),
        404: DeliveryResult.permanent("rejected", "HTTP 404"),
        408: DeliveryResult.retry("throttled", "HTTP 408"),
        410: DeliveryResult.permanent("rejected", "HTTP 410"),
        429: DeliveryResult.retry("throttled", "HTTP 429"),
        500: DeliveryResult.retry("server_error", "HTTP 500"),
        503: DeliveryResult.retry("server_error", "HTTP 503"),
    }


async def test_a_receiver_that_does_not_answer_is_a_timeout() -> None:
    receiver = Receiver()
    settings = WebhookSettings(secret=SECRET, timeout_s=0.3)
    async with serve(receiver) as base, WebhookNotifier(settings) as hook:
        result = await hook.deliver(notification(address=f"{base}/hang"))
    assert result == DeliveryResult.retry("timeout", "no answer in 0.3 s")


async def test_a_wrong_secret_is_refused_by_the_receiver_and_no_secret_sends_nothing() -> None:
    receiver = Receiver(secret="the-receivers-real-secret")
    settings = WebhookSettings(
        secret=SECRET, secrets={"la/birmingham/out_of_hours": "other-secret"}
    )
    async with serve(receiver) as base, WebhookNotifier(settings) as hook:
        wrong = await hook.deliver(notification(address=f"{base}/hook"))
        unsigned = await WebhookNotifier(WebhookSettings()).deliver(
            notification(address=f"{base}/hook")
        )
    assert wrong == DeliveryResult.permanent("rejected", "HTTP 401")
    assert receiver.bad_signatures == 1
    assert unsigned.outcome == "permanent" and unsigned.reason == "config"
    assert receiver.bad_signatures == 1 and not receiver.processed  # nothing was sent


async def test_a_bad_url_is_permanent() -> None:
    async with WebhookNotifier(WebhookSettings(secret=SECRET)) as hook:
        result = await hook.deliver(notification(address="not a url"))
    assert result.outcome == "permanent" and result.reason == "config"
