"""The signed-webhook channel: POST the notification's JSON to the receiver's URL.

Headers: `X-Custodywatch-Signature` (see `signature`), `Idempotency-Key`,
`Content-Type: application/json`. 2xx is delivered; 408, 429, 5xx, timeouts and
connection errors are tried again; any other status (a 3xx too: a signed body is
never sent on to another address) is a permanent failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

import aiohttp

from custodywatch.config import WebhookSettings
from custodywatch.contract.notifications import Notification
from custodywatch.notify.delivery import DeliveryResult
from custodywatch.notify.render import webhook_body
from custodywatch.notify.signature import HEADER, sign

USER_AGENT = "custodywatch-webhook/1"


class WebhookNotifier:
    """Implements `Notifier` for channel `webhook`. Close it (or use `async with`)."""

    def __init__(self, settings: WebhookSettings, clock: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # made on first use: it needs the running loop
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._settings.timeout_s),
                headers={"User-Agent": USER_AGENT},
            )
        return self._session

    async def deliver(self, notification: Notification) -> DeliveryResult:
        secret = self._settings.secret_for(notification.recipient)
        if secret is None:
            return DeliveryResult.permanent(
                "config", f"no webhook signing secret for {notification.recipient}"
            )
        body = webhook_body(notification)
        headers = {
            HEADER: sign(secret, body, int(self._clock())),
            "Idempotency-Key": notification.idempotency_key,
            "Content-Type": "application/json",
        }
        try:
            async with self._client().post(
                notification.address, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
        except (aiohttp.InvalidURL, ValueError) as error:
            return DeliveryResult.permanent("config", f"bad webhook URL: {type(error).__name__}")
        except TimeoutError:
            return DeliveryResult.retry("timeout", f"no answer in {self._settings.timeout_s:g} s")
        except aiohttp.ClientError as error:
            return DeliveryResult.retry("connection", type(error).__name__)
        return classify_status(status)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> WebhookNotifier:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def classify_status(status: int) -> DeliveryResult:
    """What an HTTP status means for a webhook delivery."""
    if 200 <= status < 300:
        return DeliveryResult.delivered()
    if status in {408, 429}:
        return DeliveryResult.retry("throttled", f"HTTP {status}")
    if status >= 500:
        return DeliveryResult.retry("server_error", f"HTTP {status}")
    return DeliveryResult.permanent("rejected", f"HTTP {status}")
