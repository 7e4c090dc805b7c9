"""One typed settings object for the service, built at start-up from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

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
    """Compacted: the latest EpisodeSummary per custody_record_id."""
    dead_letter: str = "custody.events.dlq.v1"
    clock: str = "custodywatch.clock.v1"
    """Event-time ticks ({"now": ts}), one per partition, co-partitioned with events."""
    state: str = "custodywatch.state.v1"
    """Compacted changelog of episode state, co-partitioned with events."""

    @classmethod
    def prefixed(cls, prefix: str) -> Topics:
        """Topics of a demo, benchmark or test run, apart from real traffic."""
        return cls(**{name: f"{prefix}.{value}" for name, value in cls().model_dump().items()})


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    kafka: KafkaConnection
    topics: Topics = Field(default_factory=Topics)
    group_id: str = "custodywatch"
    partitions: int = Field(default=4, ge=1)
    clock_mode: ClockMode = ClockMode.WALL
    rules_path: Path | None = None
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = 9108
    database_url: str = "sqlite:///custodywatch.db"

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
            "METRICS_HOST": "metrics_host",
            "METRICS_PORT": "metrics_port",
            "DATABASE_URL": "database_url",
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
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)

    def to_env(self) -> dict[str, str]:
        """The CUSTODYWATCH_* variables from which `from_env` rebuilds these settings
        (Kafka security settings aside), to start a worker process with them."""
        env = {
            "CUSTODYWATCH_KAFKA_BOOTSTRAP": self.kafka.bootstrap_servers,
            "CUSTODYWATCH_GROUP_ID": self.group_id,
            "CUSTODYWATCH_PARTITIONS": str(self.partitions),
            "CUSTODYWATCH_CLOCK_MODE": self.clock_mode.value,
            "CUSTODYWATCH_METRICS_HOST": self.metrics_host,
        }
        if self.metrics_port is not None:
            env["CUSTODYWATCH_METRICS_PORT"] = str(self.metrics_port)
        if self.rules_path is not None:
            env["CUSTODYWATCH_RULES"] = str(self.rules_path)
        for name, value in self.topics.model_dump().items():
            env[f"CUSTODYWATCH_TOPIC_{name.upper()}"] = value
        return env
