"""Secured Kafka: the commands work with the CUSTODYWATCH_KAFKA_* settings alone.

A local broker of its own (`secure_kafka`) serves SASL_SSL with SCRAM-SHA-512 and PLAIN,
and SSL, with a self-signed CA. On each, `custodywatch publish` and `custodywatch tick`
(subprocesses) and a `custodywatch worker` process, all at DEBUG, give replay's alerts,
and the password appears in none of their logs. A wrong password or CA is one line.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from clirun import assert_one_line, run_cli
from workers import (
    WorkerProcess,
    caught_up,
    duplicated,
    expected_outcomes,
    last_event_at,
    outcomes,
    published,
    start,
)

from custodywatch.config import Settings, Topics
from custodywatch.core.clock import iso
from custodywatch.localkafka import KafkaConnection, SecureListeners
from custodywatch.localkafka.tls import make_ca
from custodywatch.sim.config import SimConfig
from custodywatch.sim.records import iter_records
from custodywatch.stream.changelog import ensure_topics

# One xdist worker runs them all: the secured broker (about 30 s to start) starts once.
pytestmark = [pytest.mark.kafka, pytest.mark.xdist_group("secure_kafka")]

LISTENERS = ["SASL_SSL/SCRAM-SHA-512", "SASL_SSL/PLAIN", "SSL"]


def _connection(secure: SecureListeners, listener: str) -> KafkaConnection:
    protocol, _, mechanism = listener.partition("/")
    return secure.sasl_ssl(mechanism) if protocol == "SASL_SSL" else secure.ssl()


def _env(variables: dict[str, str]) -> dict[str, str]:
    """A person's environment: no CUSTODYWATCH_* but the ones given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODYWATCH_")}
    return {**env, **variables}


@pytest.fixture(scope="module")
def small_stream() -> list[bytes]:
    """A few dozen detentions, children among them: quick, and still raises alerts."""
    config = SimConfig(seed=23, months=0.05, detentions=120, mistake_rate=0.01)
    return [value for _, _, value in iter_records(config)]


@pytest.mark.parametrize("listener", LISTENERS)
async def test_publish_worker_and_tick_equal_replay_and_never_log_the_password(
    listener: str,
    secure_kafka: SecureListeners,
    small_stream: list[bytes],
    workers: list[WorkerProcess],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka=_connection(secure_kafka, listener),
        topics=Topics.prefixed(f"sec-{run}"),
        group_id=f"sec-{run}",
        partitions=2,
    )
    debug_text = {"CUSTODYWATCH_LOG_LEVEL": "debug", "CUSTODYWATCH_LOG_FORMAT": "text"}
    env = _env({**settings.to_env(), **debug_text})
    for name, value in debug_text.items():
        monkeypatch.setenv(name, value)  # the worker's too
    await ensure_topics(settings)
    worker = start(settings, workers, tmp_path)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(small_stream) + b"\n")

    publish = run_cli(["publish", str(events)], env)
    assert publish.returncode == 0, publish.stderr
    await caught_up(settings, settings.topics.events)
    tick = run_cli(["tick", iso(last_event_at(small_stream))], env)
    assert tick.returncode == 0, tick.stderr
    await caught_up(settings, settings.topics.clock)
    records = await published(settings)

    expected, _ = expected_outcomes(small_stream)
    assert len(expected) > 5, "the stream should raise some alerts"
    assert outcomes(records) == expected
    assert duplicated(records) == []
    worker.log.flush()
    logs = publish.stderr + tick.stderr + (tmp_path / "worker-0.log").read_text()
    assert secure_kafka.password.get_secret_value() not in logs
    assert " INFO aiokafka" in logs  # aiokafka's INFO shows only when we log at DEBUG
    if listener.startswith("SASL_SSL/"):
        assert f"Authenticated as {secure_kafka.username} via {listener[9:]}" in logs


@pytest.mark.parametrize(
    ("command", "mechanism"), [("worker", "SCRAM-SHA-512"), ("publish", "PLAIN")]
)
def test_a_wrong_password_is_one_line(
    command: str, mechanism: str, secure_kafka: SecureListeners, tmp_path: Path
) -> None:
    wrong = f"not-{secure_kafka.password.get_secret_value()}"
    kafka = secure_kafka.sasl_ssl(mechanism, password=wrong)
    env = _env({**kafka.to_env(), "CUSTODYWATCH_METRICS_PORT": "0"})
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    args = ["worker", "--log-level", "warning"] if command == "worker" else ["publish", str(empty)]
    done = run_cli(args, env, timeout=60)
    assert_one_line(done, 1, f"Kafka at {secure_kafka.sasl_ssl_bootstrap} refused the login")
    assert "_SASL_PASSWORD" in done.stderr
    assert wrong not in done.stderr


def test_a_wrong_ca_is_one_line(secure_kafka: SecureListeners, tmp_path: Path) -> None:
    other_ca = make_ca(tmp_path, "other")
    done = run_cli(["tick", "2026-03-01T00:00:00+00:00"], _env(secure_kafka.ssl(other_ca).to_env()))
    assert_one_line(done, 1, f"the certificate of Kafka at {secure_kafka.ssl_bootstrap}")
    assert "CUSTODYWATCH_KAFKA_SSL_CAFILE" in done.stderr
