"""The Kafka notifier on the real broker, read back with read_committed."""

from __future__ import annotations

import time
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from notification_builders import notification

from custodywatch.config import Settings, Topics
from custodywatch.contract.notifications import NOTIFICATION_ADAPTER
from custodywatch.localkafka import KafkaConnection
from custodywatch.notify.delivery import DeliveryResult
from custodywatch.notify.kafka import KafkaNotifier

pytestmark = pytest.mark.kafka


async def create(kafka: KafkaConnection, *topics: str) -> None:
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, 3, 1) for t in topics])
    finally:
        await admin.close()


async def read(kafka: KafkaConnection, topic: str, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic,
        **kafka.client_kwargs(),
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Any] = []
    deadline = time.monotonic() + 60  # a safety net against a hang, not a timing check
    try:
        while len(records) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            records.extend(r for rs in batch.values() for r in rs)
        # One more fetch, so that a duplicate beyond `count` would be seen too.
        records.extend(r for rs in (await consumer.getmany(timeout_ms=1000)).values() for r in rs)
    finally:
        await consumer.stop()
    return records


async def test_notifications_are_published_keyed_by_idempotency_key(
    kafka: KafkaConnection, unique_topic: str
) -> None:
    other = f"{unique_topic}-partner"
    await create(kafka, unique_topic, other)
    settings = Settings(kafka=kafka, topics=Topics(notifications=unique_topic))
    items = [notification(i, channel="kafka", address="") for i in range(1, 6)]
    routed = notification(9, channel="kafka", address=other)
    async with KafkaNotifier(settings) as notifier:
        results = [await notifier.deliver(n) for n in [*items, routed]]
    assert results == [DeliveryResult.delivered()] * 6

    records = await read(kafka, unique_topic, len(items))
    by_key = {r.key: NOTIFICATION_ADAPTER.validate_json(r.value) for r in records}
    assert len(records) == len(items)
    assert by_key == {n.idempotency_key.encode(): n for n in items}
    (partner,) = await read(kafka, other, 1)
    assert partner.key == routed.idempotency_key.encode()
    assert NOTIFICATION_ADAPTER.validate_json(partner.value) == routed
