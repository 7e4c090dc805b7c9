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


def test_smtp_and_webhook_settings_from_the_environment(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.json"
    secrets.write_text('{"la/birmingham/out_of_hours": "la-secret"}', encoding="utf-8")
    env = {
        "CUSTODYWATCH_SMTP_HOST": "smtp.example.org",
        "CUSTODYWATCH_SMTP_PORT": "2525",
        "CUSTODYWATCH_SMTP_USERNAME": "cw",
        "CUSTODYWATCH_SMTP_PASSWORD": "hunter2-long",
        "CUSTODYWATCH_SMTP_FROM": "alerts@example.org",
        "CUSTODYWATCH_WEBHOOK_TIMEOUT_S": "5",
        "CUSTODYWATCH_WEBHOOK_SECRET": "default-secret",
        "CUSTODYWATCH_WEBHOOK_SECRETS_FILE": str(secrets),
    }
    settings = Settings.from_env(env)
    assert settings.smtp is not None
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.starttls) == (
        "smtp.example.org",
        2525,
        "required",
    )
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.smtp)
    assert settings.webhook.timeout_s == 5
    assert settings.webhook.secret_for("la/birmingham/out_of_hours") == b"la-secret"
    assert settings.webhook.secret_for("suite/perry-barr/custody_sergeant") == b"default-secret"
    assert Settings.from_env(settings.to_env()) == settings
    assert Settings.from_env({}).smtp is None
    assert Settings.from_env({}).webhook.secret_for("anyone") is None
    assert Settings.from_env({}).topics.notifications == "custody.notifications.v1"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"CUSTODYWATCH_SMTP_STARTTLS": "maybe"}, "starttls"),
        ({"CUSTODYWATCH_SMTP_PORT": "0"}, "port"),
        ({"CUSTODYWATCH_SMTP_FROM": "not-an-address"}, "from_address"),
        ({"CUSTODYWATCH_SMTP_USERNAME": "cw"}, "username and password go together"),
        (
            {"CUSTODYWATCH_SMTP_IMPLICIT_TLS": "true", "CUSTODYWATCH_SMTP_STARTTLS": "required"},
            "set starttls to off",
        ),
        (
            {
                "CUSTODYWATCH_SMTP_STARTTLS": "opportunistic",
                "CUSTODYWATCH_SMTP_USERNAME": "cw",
                "CUSTODYWATCH_SMTP_PASSWORD": "pw",
            },
            "AUTH needs an encrypted connection",
        ),
    ],
)
def test_bad_smtp_settings_are_refused(extra: dict[str, str], message: str) -> None:
    env = {"CUSTODYWATCH_SMTP_HOST": "smtp.example.org", "CUSTODYWATCH_SMTP_FROM": "a@b.org"}
    with pytest.raises(ValidationError, match=message):
        Settings.from_env({**env, **extra})


def test_implicit_tls_alone_needs_no_starttls_setting() -> None:
    settings = Settings.from_env(
        {
            "CUSTODYWATCH_SMTP_HOST": "smtp.example.org",
            "CUSTODYWATCH_SMTP_PORT": "465",
            "CUSTODYWATCH_SMTP_IMPLICIT_TLS": "true",
            "CUSTODYWATCH_SMTP_FROM": "a@b.org",
        }
    )
    assert settings.smtp is not None and settings.smtp.implicit_tls


def test_a_bad_webhook_secrets_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('["not", "an", "object"]', encoding="utf-8")
    with pytest.raises(ValidationError, match="expected a JSON object"):
        Settings.from_env({"CUSTODYWATCH_WEBHOOK_SECRETS_FILE": str(bad)})
    with pytest.raises(ValidationError, match="cannot read webhook secrets file"):
        Settings.from_env({"CUSTODYWATCH_WEBHOOK_SECRETS_FILE": str(tmp_path / "missing.json")})
