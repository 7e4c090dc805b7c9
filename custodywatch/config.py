"""One typed settings object for the service, built at start-up from the environment."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from custodywatch.localkafka.connection import KafkaConnection


class ClockMode(StrEnum):
    WALL = "wall"
    """Live: deadlines fire when the wall clock reaches them."""
    EVENT = "event"
    """Backfill and demo: the clock follows occurred_at and clock-topic ticks."""


class Topics(BaseModel):
    model_config = ConfigDict(frozen=True)

    events: str = "custody.events.v1"
    alerts: str = "custody.alerts.v1"
    episodes: str = "custody.episodes.v1"
    """Compacted: the latest summary of each episode, keyed by custody_record_id."""
    dead_letter: str = "custody.events.dlq.v1"
    clock: str = "custodywatch.clock.v1"
    """Event-time ticks ({"now": ts}), one per partition, co-partitioned with events."""
    state: str = "custodywatch.state.v1"
    """Compacted changelog of episode state, co-partitioned with events."""
    notifications: str = "custody.notifications.v1"
    """Notifications on the Kafka channel, keyed by idempotency key."""

    @classmethod
    def prefixed(cls, prefix: str) -> Topics:
        """Topics of a demo, benchmark or test run, apart from real traffic."""
        return cls(**{name: f"{prefix}.{value}" for name, value in cls().model_dump().items()})


class SmtpSettings(BaseModel):
    """The SMTP relay for e-mail notifications (CUSTODYWATCH_SMTP_*)."""

    model_config = ConfigDict(frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    starttls: Literal["required", "opportunistic", "off"] = "required"
    """`opportunistic`: upgrade when the server offers STARTTLS, else send in clear."""
    implicit_tls: bool = False
    """TLS from the first byte (SMTPS, usually port 465); STARTTLS does not apply."""
    username: str | None = None
    password: SecretStr | None = None
    from_address: str = Field(min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")
    cafile: Path | None = None
    """CA bundle for the server's certificate; the system trust store when unset."""
    timeout_s: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _tls_and_auth_agree(self) -> Self:
        if self.implicit_tls and "starttls" in self.model_fields_set and self.starttls != "off":
            raise ValueError("implicit_tls already encrypts the connection: set starttls to off")
        if (self.username is None) != (self.password is None):
            raise ValueError("SMTP username and password go together: set both or neither")
        if self.username is not None and not self.implicit_tls and self.starttls != "required":
            raise ValueError(
                "SMTP AUTH needs an encrypted connection: set starttls=required or implicit_tls"
            )
        return self


class WebhookSettings(BaseModel):
    """Signed webhooks: the request timeout and each receiver's signing secret.

    `secrets` maps a recipient id (as in routing) to its secret; `secret` is the
    one for recipients not listed. `secrets_file` (a JSON object of recipient id
    to secret) is read into `secrets` when the settings are built.
    """

    model_config = ConfigDict(frozen=True)

    timeout_s: float = Field(default=10.0, gt=0)
    secret: SecretStr | None = None
    secrets: dict[str, SecretStr] = Field(default_factory=dict)
    secrets_file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_secrets_file(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data.get("secrets_file"):
            return data
        path = Path(data["secrets_file"])
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot read webhook secrets file {path}: {error}") from None
        if not isinstance(loaded, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in loaded.items()
        ):
            raise ValueError(f"{path}: expected a JSON object of recipient id to secret")
        return {**data, "secrets": {**loaded, **data.get("secrets", {})}}

    def secret_for(self, recipient: str) -> bytes | None:
        """The signing secret of this recipient, or None when it has none."""
        secret = self.secrets.get(recipient, self.secret)
        return None if secret is None else secret.get_secret_value().encode()


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    kafka: KafkaConnection
    topics: Topics = Field(default_factory=Topics)
    group_id: str = "custodywatch"
    partitions: int = Field(default=4, ge=1)
    clock_mode: ClockMode = ClockMode.WALL
    rules_path: Path | None = None
    escalation_path: Path | None = None
    """alerts/escalation.yaml (the ladder); None: the built-in defaults."""
    routing_path: Path | None = None
    """alerts/routing.yaml (who is who); `serve` needs one."""
    serve_metrics_port: int | None = Field(default=9109, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=9108, ge=0, le=65535)
    """0: any free port (the log shows the one bound)."""
    database_url: str = "sqlite:///custodywatch.db"
    smtp: SmtpSettings | None = None
    """None when CUSTODYWATCH_SMTP_HOST is unset: no e-mail channel."""
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    closed_retention_days: float = Field(default=30.0, gt=0)
    """Ended episodes are remembered this long (duplicates, late events); older
    events for unknown records are refused as `too_old`."""
    future_skew_s: float = Field(default=300.0, ge=0)
    """Live mode: an event this far ahead of the wall clock is refused (`future_event`)."""
    upload_late_s: float = Field(default=900.0, gt=0)
    """Live mode: an event sent this long after it occurred is part of a backdated upload."""
    upload_quiet_s: float = Field(default=30.0, ge=0)
    """Live mode: a partition receiving an upload fires only up to the upload's latest
    `occurred_at` until no late event has been sent for this long (0: no hold)."""
    notify_retry_base_s: float = Field(default=30.0, gt=0, le=3600)
    """Upper bound of the first wait before a failed delivery is tried again (doubling
    after each failure, up to an hour); lowered in tests, not in production."""

    @property
    def closed_retention_us(self) -> int:
        return int(self.closed_retention_days * 86_400_000_000)

    @property
    def future_skew_us(self) -> int:
        return int(self.future_skew_s * 1_000_000)

    @property
    def upload_late_us(self) -> int:
        return int(self.upload_late_s * 1_000_000)

    @property
    def upload_quiet_us(self) -> int:
        return int(self.upload_quiet_s * 1_000_000)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """CUSTODYWATCH_* variables; explicit overrides (e.g. CLI flags) win."""
        env = os.environ if env is None else env
        kafka = KafkaConnection.from_env(env) or KafkaConnection("127.0.0.1:9092")
        values: dict[str, object] = {"kafka": kafka}
        prefix = "CUSTODYWATCH_"
        simple = {
            "GROUP_ID": "group_id",
            "PARTITIONS": "partitions",
            "CLOCK_MODE": "clock_mode",
            "RULES": "rules_path",
            "ESCALATION": "escalation_path",
            "ROUTING": "routing_path",
            "SERVE_METRICS_PORT": "serve_metrics_port",
            "METRICS_HOST": "metrics_host",
            "METRICS_PORT": "metrics_port",
            "DATABASE_URL": "database_url",
            "CLOSED_RETENTION_DAYS": "closed_retention_days",
            "FUTURE_SKEW_S": "future_skew_s",
            "UPLOAD_LATE_S": "upload_late_s",
            "UPLOAD_QUIET_S": "upload_quiet_s",
            "NOTIFY_RETRY_BASE_S": "notify_retry_base_s",
        }
        for name, field in simple.items():
            if prefix + name in env:
                values[field] = env[prefix + name]
        topics = {
            field: env[f"{prefix}TOPIC_{field.upper()}"]
            for field in Topics.model_fields
            if f"{prefix}TOPIC_{field.upper()}" in env
        }
        if topics:
            values["topics"] = Topics(**topics)
        smtp = _section(env, f"{prefix}SMTP_", _SMTP_ENV)
        if smtp:
            values["smtp"] = smtp
        webhook = _section(env, f"{prefix}WEBHOOK_", _WEBHOOK_ENV)
        if webhook:
            values["webhook"] = webhook
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)

    def to_env(self) -> dict[str, str]:
        """The CUSTODYWATCH_* variables from which `from_env` rebuilds these settings,
        to start a worker process with them (the Kafka password in clear)."""
        env = {
            **self.kafka.to_env(),
            "CUSTODYWATCH_GROUP_ID": self.group_id,
            "CUSTODYWATCH_PARTITIONS": str(self.partitions),
            "CUSTODYWATCH_CLOCK_MODE": self.clock_mode.value,
            "CUSTODYWATCH_METRICS_HOST": self.metrics_host,
            "CUSTODYWATCH_CLOSED_RETENTION_DAYS": str(self.closed_retention_days),
            "CUSTODYWATCH_FUTURE_SKEW_S": str(self.future_skew_s),
            "CUSTODYWATCH_UPLOAD_LATE_S": str(self.upload_late_s),
            "CUSTODYWATCH_UPLOAD_QUIET_S": str(self.upload_quiet_s),
            "CUSTODYWATCH_NOTIFY_RETRY_BASE_S": str(self.notify_retry_base_s),
        }
        if self.metrics_port is not None:
            env["CUSTODYWATCH_METRICS_PORT"] = str(self.metrics_port)
        if self.rules_path is not None:
            env["CUSTODYWATCH_RULES"] = str(self.rules_path)
        if self.escalation_path is not None:
            env["CUSTODYWATCH_ESCALATION"] = str(self.escalation_path)
        if self.routing_path is not None:
            env["CUSTODYWATCH_ROUTING"] = str(self.routing_path)
        if self.serve_metrics_port is not None:
            env["CUSTODYWATCH_SERVE_METRICS_PORT"] = str(self.serve_metrics_port)
        for name, value in self.topics.model_dump().items():
            env[f"CUSTODYWATCH_TOPIC_{name.upper()}"] = value
        if self.smtp is not None:
            env.update(_section_env("CUSTODYWATCH_SMTP_", _SMTP_ENV, self.smtp))
        env.update(_section_env("CUSTODYWATCH_WEBHOOK_", _WEBHOOK_ENV, self.webhook))
        return env


_SMTP_ENV = {
    "HOST": "host",
    "PORT": "port",
    "STARTTLS": "starttls",
    "IMPLICIT_TLS": "implicit_tls",
    "USERNAME": "username",
    "PASSWORD": "password",
    "FROM": "from_address",
    "CAFILE": "cafile",
    "TIMEOUT_S": "timeout_s",
}
_WEBHOOK_ENV = {"TIMEOUT_S": "timeout_s", "SECRET": "secret", "SECRETS_FILE": "secrets_file"}


def _section(env: Mapping[str, str], prefix: str, names: Mapping[str, str]) -> dict[str, str]:
    return {field: env[prefix + name] for name, field in names.items() if prefix + name in env}


def _section_env(prefix: str, names: Mapping[str, str], model: BaseModel) -> dict[str, str]:
    env = {}
    for name, field in names.items():
        value = getattr(model, field)
        if field in model.model_fields_set or value != type(model).model_fields[field].default:
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if value is not None:
                env[prefix + name] = str(value).lower() if isinstance(value, bool) else str(value)
    return env
