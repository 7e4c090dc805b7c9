"""The compiled partitioner hash equals the producer's own (aiokafka, as Kafka's Java client)."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner, murmur2
from hypothesis import given
from hypothesis import strategies as st

from custodywatch.core import keyhash


@given(st.binary(max_size=200))
def test_murmur2_equals_the_producers(data: bytes) -> None:
    assert keyhash.murmur2(data) == murmur2(data)


@given(st.text(min_size=1, max_size=120), st.integers(min_value=1, max_value=64))
def test_an_alert_goes_where_the_default_partitioner_sends_its_key(
    alert_id: str, partitions: int
) -> None:
    key = alert_id.encode()
    every = list(range(partitions))
    assert keyhash.partition_for(key, partitions) == DefaultPartitioner()(key, every, every)


def test_known_values() -> None:
    # Kafka's own test vectors (org.apache.kafka.common.utils.UtilsTest.testMurmur2).
    assert keyhash.murmur2(b"21") == -973932308 & 0xFFFFFFFF
    assert keyhash.murmur2(b"foobar") == -790332482 & 0xFFFFFFFF
    assert keyhash.murmur2(b"a-little-bit-long-string") == -985981536 & 0xFFFFFFFF
    assert keyhash.murmur2(b"abc") == 479470107
