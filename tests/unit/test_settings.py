"""The one settings object: environment in, environment out."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from custodywatch.config import ClockMode, Settings, Topics
from custodywatch.localkafka import KafkaConnection


def test_environment_round_trip() -> None:
    settings = Settings(
        kafka=KafkaConnection("broker:9092"),
        topics=Topics.prefixed("run-7"),
        group_id="g",
        partitions=3,
        clock_mode=ClockMode.EVENT,
        rules_path=Path("alerts/rules.yaml"),
        metrics_port=9200,
    )
    assert Settings.from_env(settings.to_env()) == settings


def test_defaults_and_overrides() -> None:
    settings = Settings.from_env({"CUSTODYWATCH_KAFKA_BOOTSTRAP": "b:1"}, clock_mode="event")
    assert settings.kafka.bootstrap_servers == "b:1"
    assert settings.topics.events == "custody.events.v1"
    assert settings.topics.dead_letter == "custody.events.dlq.v1"
    assert settings.clock_mode is ClockMode.EVENT
    assert Topics.prefixed("demo").alerts == "demo.custody.alerts.v1"


def test_bad_values_are_refused_with_the_field_named() -> None:
    with pytest.raises(ValidationError, match="clock_mode"):
        Settings.from_env({"CUSTODYWATCH_CLOCK_MODE": "sundial"})
    with pytest.raises(ValidationError, match="partitions"):
        Settings.from_env({"CUSTODYWATCH_PARTITIONS": "0"})
