"""The delivery loop over an in-memory outbox (the real one is the store's), and the dispatcher.

The notifier here is a scripted fake: the real channels are tested against real
servers in tests/integration.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence

import pytest
from notification_builders import notification
from prometheus_client import CollectorRegistry

from custodywatch.contract.notifications import Notification
from custodywatch.metrics import PrometheusObserver
from custodywatch.notify.delivery import DeliveryResult, Dispatcher
from custodywatch.notify.outbox import Claimed, Recorded, decide, deliver_due, run_outbox
from custodywatch.notify.retry import RetryPolicy

POLICY = RetryPolicy(base_s=10, cap_s=100, give_up_after_s=1000)


class Scripted:
    """Returns the scripted results in turn, per idempotency key."""

    def __init__(self, script: dict[str, list[DeliveryResult]]) -> None:
        self.script = script
        self.calls: list[str] = []

    async def deliver(self, n: Notification) -> DeliveryResult:
        self.calls.append(n.idempotency_key)
        return self.script[n.idempotency_key].pop(0)


class MemoryOutbox:
    def __init__(self, items: Sequence[Notification]) -> None:
        self.rows = {n.idempotency_key: (Claimed(n), 0.0) for n in items}
        self.recorded: list[Recorded] = []
        self.status: dict[str, str] = {}

    async def claim_due(self, now: float, limit: int) -> list[Claimed]:
        due = [c for c, at in self.rows.values() if at <= now][:limit]
        for c in due:  # claimed: not handed out again until recorded
            self.rows[c.notification.idempotency_key] = (c, float("inf"))
        return due

    async def record(self, claimed: Claimed, recorded: Recorded) -> None:
        key = claimed.notification.idempotency_key
        self.recorded.append(recorded)
        self.status[key] = recorded.status
        if recorded.status == "pending":
            assert recorded.next_attempt_at is not None
            self.rows[key] = (
                Claimed(claimed.notification, recorded.failures, recorded.first_attempt_at),
                recorded.next_attempt_at,
            )
        else:
            del self.rows[key]


def test_decide() -> None:
    c = Claimed(notification())
    ok = decide(c, DeliveryResult.delivered(), 100.0, POLICY, lambda: 0.5)
    assert ok == Recorded("delivered", 0, 100.0, None)
    retry = decide(c, DeliveryResult.retry("timeout", "t"), 100.0, POLICY, lambda: 0.5)
    assert retry == Recorded("pending", 1, 100.0, 105.0, "timeout", "t")
    later = Claimed(c.notification, 3, 100.0)
    retry = decide(
        later, DeliveryResult.retry("server_error", "HTTP 503"), 200.0, POLICY, lambda: 0.5
    )
    assert retry == Recorded("pending", 4, 100.0, 240.0, "server_error", "HTTP 503")
    bad = decide(
        later, DeliveryResult.permanent("rejected", "HTTP 400"), 200.0, POLICY, lambda: 0.5
    )
    assert bad == Recorded("failed", 4, 100.0, None, "rejected", "HTTP 400")
    spent = decide(later, DeliveryResult.retry("timeout", "t"), 1100.0, POLICY, lambda: 0.5)
    assert spent.status == "failed" and spent.next_attempt_at is None


async def test_each_row_ends_delivered_or_failed_and_failures_are_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b, c = (notification(i) for i in (1, 2, 3))
    retry = DeliveryResult.retry("server_error", "HTTP 503")
    fake = Scripted(
        {
            a.idempotency_key: [DeliveryResult.delivered()],
            b.idempotency_key: [retry, retry, DeliveryResult.delivered()],
            c.idempotency_key: [retry, DeliveryResult.permanent("rejected", "HTTP 410")],
        }
    )
    registry = CollectorRegistry()
    observer = PrometheusObserver(registry)
    outbox, now = MemoryOutbox([a, b, c]), [0.0]
    dispatcher = Dispatcher({"webhook": fake}, observer)
    passes = 0
    with caplog.at_level(logging.WARNING):
        while outbox.rows:
            await deliver_due(
                outbox.claim_due,
                outbox.record,
                dispatcher,
                observer,
                POLICY,
                clock=lambda: now[0],
                rand=lambda: 0.5,
            )
            now[0] += 10.0
            passes += 1
            assert passes < 20
    assert outbox.status == {
        a.idempotency_key: "delivered",
        b.idempotency_key: "delivered",
        c.idempotency_key: "failed",
    }
    assert fake.calls.count(b.idempotency_key) == 3
    delivered = {"channel": "webhook", "kind": "raised"}
    assert registry.get_sample_value("custodywatch_notifications_delivered_total", delivered) == 2
    failed = {"channel": "webhook", "reason": "server_error"}
    assert registry.get_sample_value("custodywatch_notification_attempts_failed_total", failed) == 3
    given_up = {"channel": "webhook"}
    assert registry.get_sample_value("custodywatch_notifications_given_up_total", given_up) == 1
    attempts = registry.get_sample_value(
        "custodywatch_notification_attempt_seconds_count", {"channel": "webhook"}
    )
    assert attempts == 6
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1 and c.idempotency_key in failures[0].getMessage()
    assert "HTTP 410" in failures[0].getMessage()


async def test_retries_stop_after_the_give_up_time() -> None:
    n = notification()
    fake = Scripted({n.idempotency_key: [DeliveryResult.retry("timeout", "t")] * 1000})
    registry = CollectorRegistry()
    observer = PrometheusObserver(registry)
    outbox, now = MemoryOutbox([n]), [0.0]
    dispatcher = Dispatcher({"webhook": fake}, observer)
    while outbox.rows:
        await deliver_due(
            outbox.claim_due,
            outbox.record,
            dispatcher,
            observer,
            POLICY,
            clock=lambda: now[0],
            rand=lambda: 0.99,
        )
        now[0] = min(at for _, at in outbox.rows.values()) if outbox.rows else now[0]
    assert outbox.status == {n.idempotency_key: "failed"}
    assert outbox.recorded[-1].failures == len(fake.calls)
    assert outbox.recorded[-2].next_attempt_at == 1000.0  # the last try at the give-up time
    assert (
        registry.get_sample_value(
            "custodywatch_notifications_given_up_total", {"channel": "webhook"}
        )
        == 1
    )


async def test_dispatcher_without_a_notifier_for_the_channel_fails_permanently() -> None:
    n = notification(channel="email", address="sergeant@example.org")
    result = await Dispatcher({}, PrometheusObserver(CollectorRegistry())).deliver(n)
    assert result == DeliveryResult.permanent("config", "no email notifier configured")


async def test_a_notifier_that_raises_is_a_retry_not_a_crash() -> None:
    class Broken:
        async def deliver(self, n: Notification) -> DeliveryResult:
            raise RuntimeError("bug")

    registry = CollectorRegistry()
    result = await Dispatcher({"kafka": Broken()}, PrometheusObserver(registry)).deliver(
        dataclasses.replace(notification(), channel="kafka")
    )
    assert result == DeliveryResult.retry("error", "RuntimeError")
    labels = {"channel": "kafka", "reason": "error"}
    assert registry.get_sample_value("custodywatch_notification_attempts_failed_total", labels) == 1


async def test_run_outbox_stops_when_told() -> None:
    n = notification()
    fake = Scripted({n.idempotency_key: [DeliveryResult.delivered()]})
    outbox, stop = MemoryOutbox([n]), asyncio.Event()

    async def record_then_stop(claimed: Claimed, recorded: Recorded) -> None:
        await outbox.record(claimed, recorded)
        stop.set()

    observer = PrometheusObserver(CollectorRegistry())
    await asyncio.wait_for(
        run_outbox(outbox.claim_due, record_then_stop, fake, observer, POLICY, stop, idle_s=0.01),
        5,
    )
    assert outbox.status == {n.idempotency_key: "delivered"}
    assert fake.calls == [n.idempotency_key]  # delivered once


async def test_run_outbox_wakes_when_rows_are_written_not_after_its_idle_wait() -> None:
    n = notification()
    fake = Scripted({n.idempotency_key: [DeliveryResult.delivered()]})
    outbox, stop, wake = MemoryOutbox([]), asyncio.Event(), asyncio.Event()
    passes, first_pass = 0, asyncio.Event()

    async def claim_due(now: float, limit: int) -> list[Claimed]:
        nonlocal passes
        passes += 1
        first_pass.set()
        return await outbox.claim_due(now, limit)

    async def record_then_stop(claimed: Claimed, recorded: Recorded) -> None:
        await outbox.record(claimed, recorded)
        stop.set()

    observer = PrometheusObserver(CollectorRegistry())
    run = asyncio.create_task(
        run_outbox(claim_due, record_then_stop, fake, observer, POLICY, stop, idle_s=60, wake=wake)
    )
    await first_pass.wait()  # it found nothing: it now idles for a minute
    await asyncio.sleep(0.05)
    outbox.rows[n.idempotency_key] = (Claimed(n), 0.0)  # committed by the fold, which then
    wake.set()
    await asyncio.wait_for(run, 5)  # delivered long before the idle minute is out
    assert outbox.status == {n.idempotency_key: "delivered"}
    assert passes == 2
