"""Real round trips through Kafka with aiokafka: the client the stream app uses.

These prove the local broker (or the cluster in CUSTODYWATCH_KAFKA_BOOTSTRAP) supports
what the app needs: keyed produce/consume, consumer-group offset commits, and
transactions read back with isolation_level=read_committed.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from custodywatch.localkafka import KafkaConnection, open_kafka
from custodywatch.localkafka.connection import ENV_BOOTSTRAP

TIMEOUT_S = 30.0


async def _consume(consumer: AIOKafkaConsumer, count: int) -> list[ConsumerRecord]:
    """The next `count` records, or a timeout if they do not arrive."""
    records: list[ConsumerRecord] = []

    async def collect() -> None:
        while len(records) < count:
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records.extend(part)

    await asyncio.wait_for(collect(), TIMEOUT_S)
    return records


def _consumer(kafka: KafkaConnection, *topics: str, **kwargs: object) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics, auto_offset_reset="earliest", **kafka.client_kwargs(), **kwargs
    )


@pytest.mark.kafka
async def test_keyed_message_round_trip(kafka: KafkaConnection, unique_topic: str) -> None:
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            unique_topic, key=b"custody-42", value=b'{"event":"booked_in"}'
        )
    finally:
        await producer.stop()

    consumer = _consumer(kafka, unique_topic)
    await consumer.start()
    try:
        [record] = await _consume(consumer, 1)
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (b"custody-42", b'{"event":"booked_in"}')
    assert (record.partition, record.offset) == (sent.partition, sent.offset)


@pytest.mark.kafka
async def test_consumer_group_commit_resumes(kafka: KafkaConnection, unique_topic: str) -> None:
    group = f"{unique_topic}-group"
    producer = AIOKafkaProducer(**kafka.client_kwargs())
    await producer.start()
    try:
        for i in range(3):
            await producer.send_and_wait(unique_topic, key=b"same-key", value=b"%d" % i)

        first = _consumer(kafka, unique_topic, group_id=group, enable_auto_commit=False)
        await first.start()
        try:
            records = await _consume(first, 3)
            assert [r.value for r in records] == [b"0", b"1", b"2"]
            tp = TopicPartition(unique_topic, records[-1].partition)
            await first.commit()
            assert await first.committed(tp) == records[-1].offset + 1
        finally:
            await first.stop()

        await producer.send_and_wait(unique_topic, key=b"same-key", value=b"3")
    finally:
        await producer.stop()

    second = _consumer(kafka, unique_topic, group_id=group, enable_auto_commit=False)
    await second.start()
    try:
        [record] = await _consume(second, 1)
        assert record.value == b"3"  # resumed after the committed offset
        assert await second.committed(tp) == records[-1].offset + 1
    finally:
        await second.stop()


@pytest.mark.kafka
async def test_transactions_read_committed(kafka: KafkaConnection, unique_topic: str) -> None:
    producer = AIOKafkaProducer(**kafka.client_kwargs(), transactional_id=f"{unique_topic}-txn")
    await producer.start()
    try:
        await producer.begin_transaction()
        await producer.send_and_wait(unique_topic, key=b"k", value=b"aborted")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send_and_wait(unique_topic, key=b"k", value=b"committed")
        # Something after the commit, so a read_uncommitted reader knows where to stop.
        async with producer.transaction():
            await producer.send_and_wait(unique_topic, key=b"k", value=b"end")
    finally:
        await producer.stop()

    committed = _consumer(kafka, unique_topic, isolation_level="read_committed")
    await committed.start()
    try:
        records = await _consume(committed, 2)
    finally:
        await committed.stop()
    assert [r.value for r in records] == [b"committed", b"end"]

    uncommitted = _consumer(kafka, unique_topic, isolation_level="read_uncommitted")
    await uncommitted.start()
    try:
        records = await _consume(uncommitted, 3)
    finally:
        await uncommitted.stop()
    assert [r.value for r in records] == [b"aborted", b"committed", b"end"]


@pytest.mark.kafka
async def test_transactional_offsets_consume_transform_produce(
    kafka: KafkaConnection, unique_topic: str
) -> None:
    """The exactly-once loop: output records and input offsets commit together."""
    source, sink, group = unique_topic, f"{unique_topic}-out", f"{unique_topic}-group"
    plain = AIOKafkaProducer(**kafka.client_kwargs())
    await plain.start()
    try:
        await plain.send_and_wait(source, key=b"k", value=b"in")
    finally:
        await plain.stop()

    consumer = _consumer(
        kafka, source, group_id=group, enable_auto_commit=False, isolation_level="read_committed"
    )
    producer = AIOKafkaProducer(**kafka.client_kwargs(), transactional_id=f"{group}-txn")
    await consumer.start()
    await producer.start()
    try:
        [record] = await _consume(consumer, 1)
        tp = TopicPartition(source, record.partition)
        async with producer.transaction():
            await producer.send_and_wait(sink, key=record.key, value=record.value + b"->out")
            await producer.send_offsets_to_transaction({tp: record.offset + 1}, group)
        # The commit becomes visible once the coordinator has written the transaction
        # markers, which happens just after EndTxn returns: poll briefly.
        committed = None
        for _ in range(100):
            committed = await consumer.committed(tp)
            if committed is not None:
                break
            await asyncio.sleep(0.1)
        assert committed == record.offset + 1
    finally:
        await producer.stop()
        await consumer.stop()

    reader = _consumer(kafka, sink, isolation_level="read_committed")
    await reader.start()
    try:
        [out] = await _consume(reader, 1)
    finally:
        await reader.stop()
    assert out.value == b"in->out"


def test_external_cluster_from_env_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CUSTODYWATCH_KAFKA_"):  # only what this test sets counts
            monkeypatch.delenv(name)
    address = f"kafka-{uuid.uuid4().hex[:6]}.invalid:9093"
    monkeypatch.setenv(ENV_BOOTSTRAP, address)
    monkeypatch.setenv("CUSTODYWATCH_KAFKA_SASL_MECHANISM", "scram-sha-512")
    monkeypatch.setenv("CUSTODYWATCH_KAFKA_SASL_USERNAME", "app")
    monkeypatch.setenv("CUSTODYWATCH_KAFKA_SASL_PASSWORD", "secret")
    with open_kafka() as connection:
        assert connection.bootstrap_servers == address
        kwargs = connection.client_kwargs()
    assert kwargs["security_protocol"] == "SASL_PLAINTEXT"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("app", "secret")
    assert "secret" not in repr(connection)
