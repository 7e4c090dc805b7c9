"""Whole record batches inside a transaction, on the real broker: order, overflow, abort."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition

from custodywatch.localkafka import KafkaConnection
from custodywatch.stream.writes import send_to_partition

pytestmark = pytest.mark.kafka

BATCH = 16_384


async def _read(kafka: KafkaConnection, tp: TopicPartition) -> list[tuple[bytes, bytes | None]]:
    consumer = AIOKafkaConsumer(
        **kafka.client_kwargs(), isolation_level="read_committed", auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        out: list[tuple[bytes, bytes | None]] = []
        while await consumer.position(tp) < end:
            for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                out.append((record.key, record.value))
        return out
    finally:
        await consumer.stop()


async def test_records_arrive_in_order_across_full_batches_and_only_when_committed(
    kafka: KafkaConnection, unique_topic: str
) -> None:
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(unique_topic, 2, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        **kafka.client_kwargs(),
        transactional_id=f"test-{uuid.uuid4().hex}",
        max_batch_size=BATCH,  # small batches: 40 records of 1 KB fill several
        max_request_size=4 * BATCH,
    )
    await producer.start()
    committed: list[tuple[bytes, bytes | None]] = [
        (f"k{i}".encode(), bytes([65 + i % 26]) * 1000) for i in range(40)
    ]
    committed.insert(17, (b"big", b"x" * (2 * BATCH)))  # larger than a whole batch
    committed.append((b"k0", None))  # a tombstone
    try:
        async with producer.transaction():
            await send_to_partition(producer, unique_topic, 1, committed)
        with pytest.raises(RuntimeError):
            async with producer.transaction():
                await send_to_partition(producer, unique_topic, 1, [(b"aborted", b"never")])
                raise RuntimeError("the batch failed")
        async with producer.transaction():
            await send_to_partition(producer, unique_topic, 1, [])  # nothing to send
            await send_to_partition(producer, unique_topic, 1, [(b"last", b"value")])
    finally:
        await producer.stop()
    assert await _read(kafka, TopicPartition(unique_topic, 1)) == [*committed, (b"last", b"value")]
    assert await _read(kafka, TopicPartition(unique_topic, 0)) == []
