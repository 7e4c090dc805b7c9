"""A local single-node Apache Kafka broker (KRaft mode) for tests and the demo.

The jars come from Maven Central through Maven (`ensure_kafka_jars`), are cached under
``~/.cache/custodywatch/kafka/<version>/`` (``$CUSTODYWATCH_KAFKA_CACHE/<version>/`` when
that variable is set), and `LocalKafka` runs ``kafka.Kafka`` from them in a temp dir.
Set ``CUSTODYWATCH_KAFKA_BOOTSTRAP`` (and optionally the security variables read by
`KafkaConnection.from_env`) to use an existing cluster instead; `open_kafka` then starts
nothing.

``LocalKafka(secure=True)`` (``start --secure``) adds SASL_SSL (SCRAM-SHA-512 and PLAIN)
and SSL listeners with a throw-away CA; its ``secure`` attribute (`SecureListeners`) says
how to reach them.

Kafka version: 4.3.1 by default (``CUSTODYWATCH_KAFKA_VERSION`` overrides it).
It is the newest 4.x whose whole dependency tree resolves on Maven Central (as of
2026-11; 4.4.0's pom needs ``kafka-tools-api:4.4.0``, which Central does not have).
Kafka 4 dropped old protocol versions (KIP-896), so aiokafka 0.14 was checked against
real 4.3.1 and 4.1.2 brokers: produce/consume with keys, consumer-group join and offset
commit, and transactions (commit, abort, ``send_offsets_to_transaction``) read back with
``isolation_level="read_committed"`` all pass (tests/integration/test_local_broker.py),
so there was no need to fall back to Kafka 3.9.x (3.9.1 also passes, should a cluster
need it: ``CUSTODYWATCH_KAFKA_VERSION=3.9.1``). aiokafka speaks the classic consumer
group protocol, which 4.x still serves beside the new KIP-848 one.

Usage::

    python -m custodywatch.localkafka fetch    # jars only (about 10 s with an empty ~/.m2)
    python -m custodywatch.localkafka start    # prints export CUSTODYWATCH_KAFKA_BOOTSTRAP=...; Ctrl-C stops it
"""

from custodywatch.localkafka.broker import KafkaStartError, LocalKafka, free_port, open_kafka
from custodywatch.localkafka.connection import KafkaConnection, KafkaSettingsError
from custodywatch.localkafka.fetch import (
    DEFAULT_KAFKA_VERSION,
    KafkaToolMissingError,
    cache_dir,
    default_version,
    ensure_kafka_jars,
)
from custodywatch.localkafka.secure import SecureListeners

__all__ = [
    "DEFAULT_KAFKA_VERSION",
    "KafkaConnection",
    "KafkaSettingsError",
    "KafkaStartError",
    "KafkaToolMissingError",
    "LocalKafka",
    "SecureListeners",
    "cache_dir",
    "default_version",
    "ensure_kafka_jars",
    "free_port",
    "open_kafka",
]
