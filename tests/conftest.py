"""Fixtures for tests that need a real Kafka or a real database.

`kafka` (session scope) is the cluster named by CUSTODYWATCH_KAFKA_BOOTSTRAP when that is
set, else a local single-node broker started once for the whole session (see
custodywatch.localkafka). A broker that cannot start fails the tests: they are
never skipped, so CI cannot pass without having run them.

`secure_kafka` (session scope) is always a local broker of its own, with SASL_SSL
(SCRAM-SHA-512, PLAIN) and SSL listeners and a throw-away CA: it says how to reach them.

`postgres` (session scope) is a throwaway PostgreSQL server (custodywatch.store.pgserver);
`database_url` runs a test twice: on a fresh SQLite file and on a fresh PostgreSQL database.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from workers import Serve, WorkerProcess

from custodywatch.config import Settings, Topics
from custodywatch.localkafka import KafkaConnection, LocalKafka, SecureListeners, open_kafka
from custodywatch.sim.config import SimConfig
from custodywatch.sim.records import iter_records
from custodywatch.store.pgserver import LocalPostgres


@pytest.fixture(scope="session")
def kafka() -> Iterator[KafkaConnection]:
    with open_kafka() as connection:
        yield connection


@pytest.fixture(scope="session")
def secure_kafka() -> Iterator[SecureListeners]:
    with LocalKafka(secure=True) as broker:
        assert broker.secure is not None
        yield broker.secure


@pytest.fixture
def unique_topic(request: pytest.FixtureRequest) -> str:
    """A topic name no other test (or earlier run against the same cluster) uses."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name).strip("-")[:80]
    return f"cw-test-{name}-{uuid.uuid4().hex[:10]}"


# --- worker tests: unique topics and group per test, worker processes ------------------


@pytest.fixture
def settings(kafka: KafkaConnection) -> Settings:
    run = uuid.uuid4().hex[:8]
    return Settings(
        kafka=kafka, topics=Topics.prefixed(f"t-{run}"), group_id=f"g-{run}", partitions=4
    )


@pytest.fixture(scope="module")
def long_stream() -> list[bytes]:
    """Long enough (~17k events) that a kill lands mid-stream."""
    config = SimConfig(seed=5, months=0.5, detentions=4000, mistake_rate=0.002)
    return [value for _, _, value in iter_records(config)]


@pytest.fixture(scope="module")
def stream_lines() -> list[bytes]:
    """A simulated force: a few hundred detentions, children among them, some producer mistakes."""
    config = SimConfig(seed=11, months=0.1, detentions=400, mistake_rate=0.01)
    return [value for _, _, value in iter_records(config)]


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()
    for log in tmp_path.glob("worker-*.log"):
        print(log.name, log.read_text()[-3000:])  # shown when a test fails


# --- the store: SQLite and a throwaway PostgreSQL --------------------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    with LocalPostgres(durable=False) as server:  # fsync off: tests kill clients, not the server
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each engine, one per test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    server: LocalPostgres = request.getfixturevalue("postgres")
    return server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def serves(tmp_path: Path) -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for serve in started:
        serve.close()
    for log in sorted(tmp_path.glob("serve-*.log")):
        print(log.name, log.read_text()[-3000:])  # shown when a test fails
