"""The Kafka channel: the notification's JSON on `custody.notifications.v1`.

Keyed by idempotency key (so a key's retries land on one partition, in order),
acks=all, idempotent producer. The topic is the notification's `address` when
routing names one, else `Settings.topics.notifications`. Consumers read with
isolation_level=read_committed and de-duplicate on the key: a retry after a
lost acknowledgement publishes the same record again.
"""

from __future__ import annotations

from types import TracebackType

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError

from custodywatch.config import Settings
from custodywatch.contract.notifications import Notification
from custodywatch.localkafka.connection import start_or_close
from custodywatch.notify.delivery import DeliveryResult
from custodywatch.notify.render import webhook_body


class KafkaNotifier:
    """Implements `Notifier` for channel `kafka`. `await start()` first (or `async with`)."""

    def __init__(self, settings: Settings) -> None:
        self._topic = settings.topics.notifications
        self._producer = AIOKafkaProducer(
            **settings.kafka.client_kwargs(),
            acks="all",
            enable_idempotence=True,
            client_id="custodywatch-notify",
        )

    async def start(self) -> None:
        await start_or_close(self._producer)

    async def stop(self) -> None:
        await self._producer.stop()

    async def deliver(self, notification: Notification) -> DeliveryResult:
        topic = notification.address or self._topic
        try:
            await self._producer.send_and_wait(
                topic, key=notification.idempotency_key.encode(), value=webhook_body(notification)
            )
        except KafkaError as error:
            # A producer timeout is not marked retriable by aiokafka, but the broker
            # may well be back later.
            if isinstance(error, KafkaTimeoutError) or error.retriable:
                return DeliveryResult.retry("broker", type(error).__name__)
            return DeliveryResult.permanent("broker", type(error).__name__)
        return DeliveryResult.delivered()

    async def __aenter__(self) -> KafkaNotifier:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
