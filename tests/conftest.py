"""Fixtures for tests that need a real Kafka or a real database.

`kafka` (session scope) is the cluster named by CUSTODYWATCH_KAFKA_BOOTSTRAP when that is
set, else a local single-node broker started once for the whole session (see
custodywatch.localkafka). A broker that cannot start fails the tests: they are
never skipped, so CI cannot pass without having run them.

`postgres` (session scope) is a throwaway PostgreSQL server (custodywatch.store.pgserver);
`database_url` runs a test twice: on a fresh SQLite file and on a fresh PostgreSQL database.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from custodywatch.localkafka import KafkaConnection, open_kafka
from custodywatch.store.pgserver import LocalPostgres


@pytest.fixture(scope="session")
def kafka() -> Iterator[KafkaConnection]:
    with open_kafka() as connection:
        yield connection


@pytest.fixture
def unique_topic(request: pytest.FixtureRequest) -> str:
    """A topic name no other test (or earlier run against the same cluster) uses."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name).strip("-")[:80]
    return f"cw-test-{name}-{uuid.uuid4().hex[:10]}"


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
