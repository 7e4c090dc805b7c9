"""Fixtures for tests that need a real Kafka.

`kafka` (session scope) is the cluster named by CUSTODYWATCH_KAFKA_BOOTSTRAP when that is
set, else a local single-node broker started once for the whole session (see
custodywatch.localkafka). A broker that cannot start fails the tests: they are
never skipped, so CI cannot pass without having run them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest

from custodywatch.localkafka import KafkaConnection, open_kafka


@pytest.fixture(scope="session")
def kafka() -> Iterator[KafkaConnection]:
    with open_kafka() as connection:
        yield connection


@pytest.fixture
def unique_topic(request: pytest.FixtureRequest) -> str:
    """A topic name no other test (or earlier run against the same cluster) uses."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name).strip("-")[:80]
    return f"cw-test-{name}-{uuid.uuid4().hex[:10]}"
