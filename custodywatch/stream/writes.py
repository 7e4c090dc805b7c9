"""What one partition's transaction writes to Kafka, gathered while the engine runs.

The worker applies a whole batch of events first, collecting the alerts and the
dead letters in order (`Writes`), then sends everything in the partition's
transaction: the alerts, the dead letters, the changed episodes' summaries and
their states. Records whose partition the worker knows go as whole record
batches (`send_batch`): one future and one accumulator call per batch instead of
per record, which was about a fifth of the worker's CPU. That is the changelog
(partition p), the summaries when the topics are co-partitioned, and the alerts
(the default partitioner's choice for their key, computed by the compiled core).

Part of the Kafka adapter: it may import aiokafka, the contract and the core; it
reports through the observer port, never to prometheus_client directly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from custodywatch.contract.alerts import ALERT_ADAPTER, AlertRecord
from custodywatch.contract.rejects import Reject
from custodywatch.core.clock import to_us
from custodywatch.core.keyhash import partition_for
from custodywatch.observer import Observer


@dataclass(slots=True)
class Writes:
    """A transaction's alerts and dead letters, in the order the engine produced them."""

    alerts: list[AlertRecord] = field(default_factory=list)
    dead_letters: list[tuple[ConsumerRecord, Reject]] = field(default_factory=list)
    processed: Counter[str] = field(default_factory=Counter)
    """Events applied, by type: observed once per batch (a metric's inc takes a lock)."""


def encode_state(state: dict[str, Any] | None) -> bytes | None:
    """An episode's durable state as compact JSON (None: a tombstone). orjson: ~5x json.dumps."""
    return None if state is None else orjson.dumps(state)


def decode_state(value: bytes) -> Any:
    return orjson.loads(value)


def dead_letter_headers(record: ConsumerRecord, reject: Reject) -> list[tuple[str, bytes]]:
    return [
        ("reason", reject.reason.value.encode()),
        ("message", reject.message.encode()),
        ("source_topic", record.topic.encode()),
        ("source_partition", str(record.partition).encode()),
        ("source_offset", str(record.offset).encode()),
    ]


async def send_alerts(
    producer: AIOKafkaProducer, topic: str, alerts: Sequence[AlertRecord], observer: Observer
) -> None:
    """Keyed by alert_id, on the partition the default partitioner gives that key (so each
    alert's records stay in order on one partition), one record batch per partition."""
    if not alerts:
        return
    partitions = len(await producer.partitions_for(topic))
    by_partition: dict[int, list[tuple[bytes, bytes | None]]] = {}
    for alert in alerts:
        key = alert.alert_id.encode()
        records = by_partition.setdefault(partition_for(key, partitions), [])
        records.append((key, ALERT_ADAPTER.dump_json(alert)))
        if alert.state == "raised":
            latency = (_us(alert.raised_at) - _us(alert.due_at)) / 1e6
            observer.alert_raised(alert.rule, alert.stage, alert.severity, latency)
        else:
            observer.alert_settled(alert.rule, alert.stage, alert.state)
    for partition, records in by_partition.items():
        await send_to_partition(producer, topic, partition, records)


async def send_to_partition(
    producer: AIOKafkaProducer,
    topic: str,
    partition: int,
    records: Sequence[tuple[bytes, bytes | None]],
) -> None:
    """(key, value) records to one partition, in order, in as few record batches as fit.

    Inside a transaction like `send`: the accumulator adds the partition to it.
    """
    if not records:
        return
    batch = producer.create_batch()
    for key, value in records:
        if batch.append(key=key, value=value, timestamp=None) is None:
            # Full (the failed append closed it): send it and start the next. An empty
            # batch takes any one record, however large.
            await producer.send_batch(batch, topic, partition=partition)
            batch = producer.create_batch()
            batch.append(key=key, value=value, timestamp=None)
    batch.close()  # complete: the sender takes it at once instead of lingering for more
    await producer.send_batch(batch, topic, partition=partition)


def _us(timestamp: str) -> int:
    return to_us(datetime.fromisoformat(timestamp))
