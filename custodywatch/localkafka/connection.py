"""How to reach a Kafka cluster: an address plus optional security settings.

`KafkaConnection.from_env()` reads the ``CUSTODYWATCH_KAFKA_*`` variables; when
``CUSTODYWATCH_KAFKA_BOOTSTRAP`` is set, tests and the demo use that cluster and start
nothing themselves.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import SecretStr

ENV_BOOTSTRAP = "CUSTODYWATCH_KAFKA_BOOTSTRAP"
ENV_SECURITY_PROTOCOL = "CUSTODYWATCH_KAFKA_SECURITY_PROTOCOL"
ENV_SASL_MECHANISM = "CUSTODYWATCH_KAFKA_SASL_MECHANISM"
ENV_SASL_USERNAME = "CUSTODYWATCH_KAFKA_SASL_USERNAME"
ENV_SASL_PASSWORD = "CUSTODYWATCH_KAFKA_SASL_PASSWORD"
ENV_SSL_CAFILE = "CUSTODYWATCH_KAFKA_SSL_CAFILE"

_PROTOCOLS = frozenset({"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"})
_PASSWORD_MECHANISMS = frozenset({"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"})


class KafkaSettingsError(ValueError):
    """A connection setting that cannot work (e.g. a CA file that cannot be read);
    the message names the variable and the file."""


@dataclass(frozen=True)
class KafkaConnection:
    """A Kafka cluster address and the optional settings needed to authenticate to it.

    ``security_protocol`` may be left out: it is then inferred from the other fields
    (SASL and/or a CA file), and is PLAINTEXT when none is given. The password is a
    `SecretStr` (a plain string is wrapped), so reprs and ``model_dump()`` of
    settings holding it show ``**********``.
    """

    bootstrap_servers: str
    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = field(default=None, repr=False)
    ssl_cafile: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.sasl_password, str):
            object.__setattr__(self, "sasl_password", SecretStr(self.sasl_password))
        if not self.bootstrap_servers.strip():
            raise KafkaSettingsError(f"{ENV_BOOTSTRAP}: the bootstrap address is empty")
        if self.security_protocol is not None and self.security_protocol not in _PROTOCOLS:
            raise KafkaSettingsError(
                f"{ENV_SECURITY_PROTOCOL} must be one of {', '.join(sorted(_PROTOCOLS))}, "
                f"got {self.security_protocol!r}"
            )
        if (
            self.effective_security_protocol.startswith("SASL_")
            and (self.sasl_mechanism or "PLAIN") in _PASSWORD_MECHANISMS
            and (self.sasl_username is None or self.sasl_password is None)
        ):
            raise KafkaSettingsError(
                f"{self.effective_security_protocol} needs a SASL username and password "
                f"({ENV_SASL_USERNAME}, {ENV_SASL_PASSWORD})"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KafkaConnection | None:
        """The cluster named by ``CUSTODYWATCH_KAFKA_BOOTSTRAP``, or None when it is unset."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        bootstrap = get(ENV_BOOTSTRAP)
        if bootstrap is None:
            return None
        protocol = get(ENV_SECURITY_PROTOCOL)
        mechanism = get(ENV_SASL_MECHANISM)
        return cls(
            bootstrap_servers=bootstrap,
            security_protocol=protocol.upper() if protocol else None,
            sasl_mechanism=mechanism.upper() if mechanism else None,
            sasl_username=get(ENV_SASL_USERNAME),
            sasl_password=SecretStr(password) if (password := env.get(ENV_SASL_PASSWORD)) else None,
            ssl_cafile=get(ENV_SSL_CAFILE),
        )

    def to_env(self) -> dict[str, str]:
        """The ``CUSTODYWATCH_KAFKA_*`` variables `from_env` rebuilds this connection from
        (the password in clear: for a child process's environment, never a log)."""
        values = {
            ENV_BOOTSTRAP: self.bootstrap_servers,
            ENV_SECURITY_PROTOCOL: self.security_protocol,
            ENV_SASL_MECHANISM: self.sasl_mechanism,
            ENV_SASL_USERNAME: self.sasl_username,
            ENV_SASL_PASSWORD: None
            if self.sasl_password is None
            else self.sasl_password.get_secret_value(),
            ENV_SSL_CAFILE: self.ssl_cafile,
        }
        return {name: value for name, value in values.items() if value is not None}

    @property
    def uses_sasl(self) -> bool:
        return self.sasl_mechanism is not None or self.sasl_username is not None

    @property
    def effective_security_protocol(self) -> str:
        if self.security_protocol is not None:
            return self.security_protocol
        if self.uses_sasl:
            return "SASL_SSL" if self.ssl_cafile else "SASL_PLAINTEXT"
        return "SSL" if self.ssl_cafile else "PLAINTEXT"

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client (producer, consumer, admin).

        Includes ``bootstrap_servers``, so ``AIOKafkaProducer(**conn.client_kwargs())``
        is a complete configuration. A CA file, when given, is loaded into an
        ``ssl.SSLContext``; without one the system trust store is used.
        """
        protocol = self.effective_security_protocol
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": protocol,
        }
        if protocol.startswith("SASL_"):
            kwargs["sasl_mechanism"] = self.sasl_mechanism or "PLAIN"
            kwargs["sasl_plain_username"] = self.sasl_username
            password = self.sasl_password
            kwargs["sasl_plain_password"] = (
                None if password is None else password.get_secret_value()
            )
        if protocol.endswith("SSL"):
            kwargs["ssl_context"] = self.ssl_context()
        return kwargs

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context: the CA file when given, else the system trust store."""
        try:
            return ssl.create_default_context(cafile=self.ssl_cafile)
        except ssl.SSLError as exc:
            raise KafkaSettingsError(
                f"{ENV_SSL_CAFILE}: {self.ssl_cafile} is not a PEM CA certificate ({exc.reason})"
            ) from None
        except OSError as exc:
            # ssl's own FileNotFoundError does not say which file it looked for.
            raise KafkaSettingsError(
                f"{ENV_SSL_CAFILE}: cannot load CA file {self.ssl_cafile}: {exc.strerror}"
            ) from None


class _Client(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


async def start_or_close(client: _Client) -> None:
    """`client.start()`; if it fails (no broker, bad credentials), stop it before raising,
    so no half-started client is left for the garbage collector to complain about."""
    try:
        await client.start()
    except BaseException:
        await client.stop()
        raise
