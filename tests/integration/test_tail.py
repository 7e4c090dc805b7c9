"""`custodywatch alerts tail` and `dlq tail` against a real broker, as a person runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from custodywatch.localkafka import KafkaConnection

pytestmark = pytest.mark.kafka


def _alert(record: str, due: str, state: str = "raised") -> dict[str, object]:
    return {
        "alert_id": f"{record}/detention_duration/breach", "rule": "detention_duration",
        "stage": "breach", "instance": None, "severity": "critical",
        "custody_record_id": record, "suite_id": "perry-barr", "person_ref": "P-000001",
        "home_local_authority": "birmingham", "due_at": due, "raised_at": due,
        "summary": "6 hours in custody", "state": state, "state_at": due,
        "evidence_event_id": None, "schema_version": 2,
    }  # fmt: skip


async def _produce(
    kafka: KafkaConnection, topic: str, messages: list[dict[str, object]], partition: int = 0
) -> None:
    """Onto one partition, so that the order read back is the order written."""
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(**kafka.client_kwargs())
    await producer.start()
    try:
        for message in messages:
            await producer.send_and_wait(topic, partition=partition, **message)
    finally:
        await producer.stop()


def _tail(kafka: KafkaConnection, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CUSTODYWATCH_KAFKA_BOOTSTRAP": kafka.bootstrap_servers}
    return subprocess.run(
        [sys.executable, "-m", "custodywatch.cli", *args, "--no-follow"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _shell(kafka: KafkaConnection, command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CUSTODYWATCH_KAFKA_BOOTSTRAP": kafka.bootstrap_servers}
    return subprocess.run(
        f"{sys.executable} -m custodywatch.cli {command}",
        shell=True, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def test_alerts_tail_prints_every_alert_then_stops(
    kafka: KafkaConnection, unique_topic: str
) -> None:
    alerts = [
        _alert("CR1", "2026-03-02T00:00:00+00:00"),
        _alert("CR2", "2026-03-02T01:00:00+00:00"),
        _alert("CR1", "2026-03-02T02:00:00+00:00", state="resolved"),
    ]
    await _produce(kafka, unique_topic, [{"value": json.dumps(a).encode()} for a in alerts])
    done = _tail(kafka, "alerts", "tail", "--topic", unique_topic)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3, done.stdout
    assert lines[0].startswith("2026-03-02 00:00 GMT  raised") and "CR1" in lines[0]
    assert "resolved" in lines[2]
    assert "P-000001" not in done.stdout
    as_json = _tail(kafka, "alerts", "tail", "--topic", unique_topic, "--json")
    assert [json.loads(line)["custody_record_id"] for line in as_json.stdout.splitlines()] == [
        "CR1", "CR2", "CR1",
    ]  # fmt: skip


async def test_dlq_tail_prints_reason_and_origin(kafka: KafkaConnection, unique_topic: str) -> None:
    headers = [
        ("reason", b"invalid_json"),
        ("message", b"not valid JSON: EOF while parsing a string at line 1 column 10"),
        ("source_topic", b"custody.events.v1"),
        ("source_partition", b"0"),
        ("source_offset", b"7"),
    ]
    await _produce(
        kafka, unique_topic, [{"key": b"CR4", "value": b'{"not json', "headers": headers}]
    )
    done = _tail(kafka, "dlq", "tail", "--topic", unique_topic)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert line.startswith("invalid_json") and "custody.events.v1[0]@7" in line
    assert "key=CR4" in line and '{"not json' not in line
    raw = _tail(kafka, "dlq", "tail", "--topic", unique_topic, "--raw")
    assert '{"not json' in raw.stdout


def test_a_topic_that_does_not_exist_is_one_line(kafka: KafkaConnection) -> None:
    done = _tail(kafka, "alerts", "tail", "--topic", "cw-test-no-such-topic")
    assert done.returncode == 2
    assert done.stderr.startswith("custodywatch: topic cw-test-no-such-topic does not exist")
    assert "Traceback" not in done.stderr


async def test_alerts_tail_into_head_ends_quietly(
    kafka: KafkaConnection, unique_topic: str
) -> None:
    alerts = [_alert(f"CR{n}", "2026-03-02T00:00:00+00:00") for n in range(2000)]
    await _produce(kafka, unique_topic, [{"value": json.dumps(a).encode()} for a in alerts])
    done = _shell(kafka, f"alerts tail --topic {unique_topic} | head -n 2")
    assert len(done.stdout.splitlines()) == 2
    assert done.stderr == "", done.stderr
