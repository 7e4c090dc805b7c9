"""The secured listeners of a local broker: SASL_SSL (SCRAM-SHA-512 and PLAIN) and SSL.

`LocalKafka(secure=True)` adds them beside its PLAINTEXT listener, which stays for the
controller, the broker's own traffic and its readiness probe. One user, with a random
password per broker, is both a SCRAM-SHA-512 user (added when the storage is formatted,
as KRaft keeps SCRAM credentials in its metadata log) and a PLAIN user (in the
listener's JAAS configuration). No authoriser is configured: an authenticated user
may do anything, so the secured listeners run everything the PLAINTEXT one does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from custodywatch.localkafka.connection import KafkaConnection
from custodywatch.localkafka.tls import BrokerTls, make_broker_tls

USERNAME = "custodywatch"
SASL_MECHANISMS = ("SCRAM-SHA-512", "PLAIN")


@dataclass(frozen=True)
class SecureListeners:
    """What a client needs to reach the secured listeners of a local broker."""

    sasl_ssl_bootstrap: str
    ssl_bootstrap: str
    cafile: Path
    """The self-signed CA that signed the broker's certificate."""
    username: str
    password: SecretStr = field(repr=False)

    def sasl_ssl(self, mechanism: str, password: str | None = None) -> KafkaConnection:
        """The SASL_SSL listener with ``mechanism`` (SCRAM-SHA-512 or PLAIN); another
        ``password`` to try a wrong one."""
        return KafkaConnection(
            bootstrap_servers=self.sasl_ssl_bootstrap,
            security_protocol="SASL_SSL",
            sasl_mechanism=mechanism,
            sasl_username=self.username,
            sasl_password=SecretStr(password or self.password.get_secret_value()),
            ssl_cafile=str(self.cafile),
        )

    def ssl(self, cafile: Path | None = None) -> KafkaConnection:
        """The SSL listener (TLS, no SASL); another ``cafile`` to try a wrong CA."""
        return KafkaConnection(
            bootstrap_servers=self.ssl_bootstrap,
            security_protocol="SSL",
            ssl_cafile=str(cafile or self.cafile),
        )


def with_secure_listeners(
    props: dict[str, str], host: str, sasl_ssl_port: int, ssl_port: int, tls: BrokerTls,
    password: str,
) -> dict[str, str]:  # fmt: skip
    """The broker's PLAINTEXT settings ``props`` with both secured listeners added."""
    listeners = f"SASL_SSL://{host}:{sasl_ssl_port},SSL://{host}:{ssl_port}"
    jaas_plain = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'user_{USERNAME}="{password}";'
    )
    return {
        **props,
        "listeners": f"{props['listeners']},{listeners}",
        "advertised.listeners": f"{props['advertised.listeners']},{listeners}",
        "listener.security.protocol.map": (
            f"{props['listener.security.protocol.map']},SASL_SSL:SASL_SSL,SSL:SSL"
        ),
        "listener.name.sasl_ssl.sasl.enabled.mechanisms": ",".join(SASL_MECHANISMS),
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
        "listener.name.sasl_ssl.plain.sasl.jaas.config": jaas_plain,
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(tls.keystore),
        "ssl.keystore.password": tls.keystore_password,
        "ssl.key.password": tls.keystore_password,
    }


def scram_format_args(password: str) -> list[str]:
    """``kafka-storage format`` arguments that add the SCRAM-SHA-512 user."""
    return ["--add-scram", f"SCRAM-SHA-512=[name={USERNAME},password={password}]"]


def secure_listeners(
    props: dict[str, str], tls_dir: Path, host: str, sasl_ssl_port: int, ssl_port: int
) -> tuple[SecureListeners, dict[str, str], list[str]]:
    """Make the TLS material in ``tls_dir`` and a password; return what clients need,
    the broker settings ``props`` with both listeners, and the storage format arguments."""
    tls = make_broker_tls(tls_dir)
    # URL-safe characters only: the password goes into a JAAS string and an
    # --add-scram argument, where quotes, commas and brackets are syntax.
    password = secrets.token_urlsafe(18)
    listeners = SecureListeners(
        sasl_ssl_bootstrap=f"{host}:{sasl_ssl_port}",
        ssl_bootstrap=f"{host}:{ssl_port}",
        cafile=tls.cafile,
        username=USERNAME,
        password=SecretStr(password),
    )
    props = with_secure_listeners(props, host, sasl_ssl_port, ssl_port, tls, password)
    return listeners, props, scram_format_args(password)
