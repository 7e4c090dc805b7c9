"""What a delivery attempt returns, the `Notifier` port, and the channel dispatcher.

A notifier never raises for a failed delivery: it returns a `DeliveryResult`,
and the outbox loop records it. `reason` is one of `FAILURE_REASONS`, a small
fixed set that is safe as a metric label; `detail` is one line for the log
(a status code, an exception class), never an address or a child's data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from custodywatch.contract.notifications import Channel, Notification
from custodywatch.observer import Observer

log = logging.getLogger(__name__)

CHANNELS: tuple[Channel, ...] = get_args(Channel)

FailureReason = Literal[
    "timeout",  # no answer in time
    "connection",  # refused, reset, DNS, TLS handshake
    "server_error",  # HTTP 5xx, SMTP 4xx (the receiver may recover)
    "throttled",  # HTTP 408 or 429
    "rejected",  # HTTP 4xx, SMTP 5xx: the receiver refuses this message
    "auth",  # SMTP AUTH refused
    "config",  # no signing secret, no notifier for the channel, bad address
    "broker",  # Kafka error
    "error",  # anything else (a bug): logged with its traceback
]
FAILURE_REASONS: tuple[FailureReason, ...] = get_args(FailureReason)

Outcome = Literal["delivered", "retry", "permanent"]


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    outcome: Outcome
    reason: FailureReason | None = None
    detail: str = ""

    @classmethod
    def delivered(cls) -> DeliveryResult:
        return cls("delivered")

    @classmethod
    def retry(cls, reason: FailureReason, detail: str) -> DeliveryResult:
        """Failed this time; the receiver may take it later."""
        return cls("retry", reason, detail)

    @classmethod
    def permanent(cls, reason: FailureReason, detail: str) -> DeliveryResult:
        """Failed for good: trying again would fail the same way."""
        return cls("permanent", reason, detail)


class Notifier(Protocol):
    async def deliver(self, notification: Notification) -> DeliveryResult:
        """Try once to deliver; never raises for a failed delivery."""
        ...


class Dispatcher:
    """Delivers each notification with its channel's notifier and observes the attempt."""

    def __init__(
        self,
        notifiers: Mapping[Channel, Notifier],
        observer: Observer,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._notifiers = dict(notifiers)
        self._observer = observer
        self._monotonic = monotonic

    async def deliver(self, notification: Notification) -> DeliveryResult:
        channel = notification.channel
        notifier = self._notifiers.get(channel)
        started = self._monotonic()
        if notifier is None:
            result = DeliveryResult.permanent("config", f"no {channel} notifier configured")
        else:
            try:
                result = await notifier.deliver(notification)
            except Exception as error:  # a bug in a notifier must not stop the loop
                log.exception("notifier %s raised on %s", channel, notification.idempotency_key)
                result = DeliveryResult.retry("error", type(error).__name__)
        self._observer.delivery_attempted(channel, self._monotonic() - started)
        if result.outcome == "delivered":
            self._observer.notification_delivered(channel, notification.kind)
        else:
            self._observer.delivery_failed(channel, result.reason or "error")
        return result
