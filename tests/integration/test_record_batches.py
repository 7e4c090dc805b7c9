"""Whole record batches inside a transaction, on the real broker: order, overflow, abort."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import TopicPartition

from custodywatch.contract.alerts import ALERT_ADAPTER, AlertRecord, AlertState
from custodywatch.localkafka import KafkaConnection
from custodywatch.observer import NullObserver
from custodywatch.stream.writes import send_alerts, send_to_partition

pytestmark = pytest.mark.kafka

BATCH = 16_384


async def _read(
    kafka: KafkaConnection, topic: str, partitions: int, expected: int
) -> dict[int, list[tuple[bytes, bytes | None]]]:
    """Every partition's committed records, read until `expected` in all have arrived.

    The commit markers reach the partitions just after the commit returns, so a read
    straight after it may see the end of a partition a moment before its records.
    """
    consumer = AIOKafkaConsumer(
        **kafka.client_kwargs(), isolation_level="read_committed", auto_offset_reset="earliest"
    )
    await consumer.start()
    out: dict[int, list[tuple[bytes, bytes | None]]] = {p: [] for p in range(partitions)}
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        deadline = asyncio.get_running_loop().time() + 30
        while sum(map(len, out.values())) < expected:
            assert asyncio.get_running_loop().time() < deadline, out
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                out[tp.partition].extend((r.key, r.value) for r in records)
        return out
    finally:
        await consumer.stop()


async def _topic(kafka: KafkaConnection, name: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()


async def test_records_arrive_in_order_across_full_batches_and_only_when_committed(
    kafka: KafkaConnection, unique_topic: str
) -> None:
    await _topic(kafka, unique_topic, 2)
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
    expected = [*committed, (b"last", b"value")]
    assert await _read(kafka, unique_topic, 2, len(expected)) == {0: [], 1: expected}


def _alert(record: str, state: AlertState) -> AlertRecord:
    due = "2026-03-01T18:00:00Z"
    return AlertRecord(
        alert_id=f"{record}/detention_duration/breach", rule="detention_duration",
        stage="breach", instance=None, severity="critical", custody_record_id=record,
        suite_id="perry-barr", person_ref="P-0001", home_local_authority="birmingham",
        due_at=due, raised_at=due, summary="6 hours in custody", state=state,
        state_at=due, evidence_event_id=None,
    )  # fmt: skip


async def test_alerts_land_where_the_producers_own_partitioner_puts_their_key(
    kafka: KafkaConnection, unique_topic: str
) -> None:
    await _topic(kafka, unique_topic, 4)
    alerts = [_alert(f"CR-{i}", "raised") for i in range(30)]
    alerts += [_alert(f"CR-{i}", "resolved") for i in range(0, 30, 3)]  # after its raise
    producer = AIOKafkaProducer(**kafka.client_kwargs(), transactional_id=f"t-{uuid.uuid4().hex}")
    await producer.start()
    try:
        async with producer.transaction():
            await send_alerts(producer, unique_topic, alerts, NullObserver())
    finally:
        await producer.stop()
    every = [0, 1, 2, 3]
    read: list[tuple[str, str]] = []
    for partition, records in (await _read(kafka, unique_topic, 4, len(alerts))).items():
        for key, value in records:
            assert DefaultPartitioner()(key, every, every) == partition, key
            assert value is not None
            read.append((key.decode(), ALERT_ADAPTER.validate_json(value).state))
    assert sorted(read) == sorted((a.alert_id, a.state) for a in alerts)
    # Each alert's records in order on its partition: raised, then resolved.
    assert all(
        [s for k, s in read if k == alert_id] == ["raised", "resolved"]
        for alert_id, state in read
        if state == "resolved"
    )
