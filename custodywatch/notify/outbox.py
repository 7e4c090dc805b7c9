"""The delivery loop over an outbox it does not own.

The store keeps one row per notification (its idempotency key) and provides
two callables: `claim_due(now, limit)` returns the rows due by `now`, claimed
so no other loop takes them, and `record(claimed, recorded)` writes the result
back. Each pass delivers the claimed rows concurrently and records, per row:
`delivered`; `pending` with the next attempt time from the retry schedule; or
`failed` (a permanent failure, or the 24 h of retries are spent). A failed
notification is logged and counted (`notification_given_up`), never dropped
silently.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from custodywatch.contract.notifications import Notification
from custodywatch.notify.delivery import DeliveryResult, FailureReason, Notifier
from custodywatch.notify.retry import RetryPolicy, next_attempt_at
from custodywatch.observer import Observer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A due outbox row, as the store hands it over."""

    notification: Notification
    failures: int = 0
    """Failed attempts so far."""
    first_attempt_at: float | None = None
    """Unix seconds of the first attempt; None before it (the 24 h start there)."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the store writes back for a claimed row after one attempt."""

    status: Literal["delivered", "pending", "failed"]
    failures: int
    first_attempt_at: float
    next_attempt_at: float | None
    """Set when `pending`."""
    reason: FailureReason | None = None
    detail: str = ""


ClaimDue = Callable[[float, int], Awaitable[Sequence[Claimed]]]
RecordResult = Callable[[Claimed, Recorded], Awaitable[None]]


def decide(
    claimed: Claimed,
    result: DeliveryResult,
    now: float,
    policy: RetryPolicy,
    rand: Callable[[], float],
) -> Recorded:
    """Pure: the row's next state after an attempt at `now` that gave `result`."""
    first = now if claimed.first_attempt_at is None else claimed.first_attempt_at
    if result.outcome == "delivered":
        return Recorded("delivered", claimed.failures, first, None)
    failures = claimed.failures + 1
    at = (
        None
        if result.outcome == "permanent"
        else next_attempt_at(policy, failures, first, now, rand)
    )
    status: Literal["pending", "failed"] = "failed" if at is None else "pending"
    return Recorded(status, failures, first, at, result.reason, result.detail)


async def deliver_due(
    claim_due: ClaimDue,
    record: RecordResult,
    notifier: Notifier,
    observer: Observer,
    policy: RetryPolicy,
    *,
    clock: Callable[[], float] = time.time,
    rand: Callable[[], float] = random.random,
    limit: int = 50,
) -> int:
    """One pass: claim what is due, try each once, record each result. Returns how many."""
    batch = await claim_due(clock(), limit)

    async def one(claimed: Claimed) -> None:
        result = await notifier.deliver(claimed.notification)
        recorded = decide(claimed, result, clock(), policy, rand)
        n = claimed.notification
        if recorded.status == "failed":
            observer.notification_given_up(n.channel)
            log.error(
                "notification FAILED, not delivered: %s via %s after %d attempts (%s: %s)",
                n.idempotency_key,
                n.channel,
                recorded.failures,
                recorded.reason,
                recorded.detail,
            )
        elif recorded.status == "pending":
            log.warning(
                "notification %s via %s: attempt %d failed (%s: %s), next in %.1f s",
                n.idempotency_key,
                n.channel,
                recorded.failures,
                recorded.reason,
                recorded.detail,
                (recorded.next_attempt_at or 0.0) - clock(),
            )
        await record(claimed, recorded)

    await asyncio.gather(*(one(c) for c in batch))
    return len(batch)


async def run_outbox(
    claim_due: ClaimDue,
    record: RecordResult,
    notifier: Notifier,
    observer: Observer,
    policy: RetryPolicy,
    stop: asyncio.Event,
    *,
    idle_s: float = 1.0,
    wake: asyncio.Event | None = None,
    clock: Callable[[], float] = time.time,
    rand: Callable[[], float] = random.random,
) -> None:
    """Pass after pass until `stop` is set; waits `idle_s` when nothing was due, or
    until `wake` is set (by whoever wrote outbox rows: a notification goes out as soon
    as its row is committed, not when the idle wait ends)."""
    while not stop.is_set():
        if wake is not None:
            wake.clear()  # rows committed from here on are seen by this pass or the next
        done = await deliver_due(
            claim_due, record, notifier, observer, policy, clock=clock, rand=rand
        )
        if not done:
            await _idle(stop, wake, idle_s)


async def _idle(stop: asyncio.Event, wake: asyncio.Event | None, idle_s: float) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in (stop, wake) if e is not None]
    try:
        await asyncio.wait(waits, timeout=idle_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
