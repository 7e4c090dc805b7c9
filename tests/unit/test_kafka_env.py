"""Kafka security settings survive the environment a worker process is started with."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr

from custodywatch.config import Settings
from custodywatch.localkafka import KafkaConnection
from custodywatch.localkafka.__main__ import _print_secure
from custodywatch.localkafka.secure import SecureListeners, with_secure_listeners
from custodywatch.localkafka.tls import BrokerTls


def test_secured_connection_round_trips_through_the_environment() -> None:
    kafka = KafkaConnection(
        "broker:9094",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="app",
        sasl_password="s3cret",  # type: ignore[arg-type]  # wrapped into a SecretStr
        ssl_cafile="/etc/kafka/ca.pem",
    )
    settings = Settings(kafka=kafka)
    env = settings.to_env()
    assert env["CUSTODYWATCH_KAFKA_SASL_PASSWORD"] == "s3cret"
    assert Settings.from_env(env) == settings
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.model_dump())


def test_plaintext_connection_sets_only_the_bootstrap() -> None:
    assert KafkaConnection("b:1").to_env() == {"CUSTODYWATCH_KAFKA_BOOTSTRAP": "b:1"}


def test_secure_listeners_extend_the_plaintext_ones() -> None:
    plaintext = {
        "listeners": "PLAINTEXT://127.0.0.1:1,CONTROLLER://127.0.0.1:2",
        "advertised.listeners": "PLAINTEXT://127.0.0.1:1",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
    }
    tls = BrokerTls(cafile=Path("ca.pem"), keystore=Path("broker.p12"), keystore_password="k")
    props = with_secure_listeners(plaintext, "127.0.0.1", 3, 4, tls, "pw")
    assert props["listeners"] == (
        "PLAINTEXT://127.0.0.1:1,CONTROLLER://127.0.0.1:2,SASL_SSL://127.0.0.1:3,SSL://127.0.0.1:4"
    )
    assert props["advertised.listeners"].endswith(",SASL_SSL://127.0.0.1:3,SSL://127.0.0.1:4")
    assert props["inter.broker.listener.name"] == "PLAINTEXT"  # the broker's own traffic
    assert 'user_custodywatch="pw"' in props["listener.name.sasl_ssl.plain.sasl.jaas.config"]
    assert props["listener.name.sasl_ssl.sasl.enabled.mechanisms"] == "SCRAM-SHA-512,PLAIN"


def test_start_secure_prints_settings_a_shell_can_eval(capsys: pytest.CaptureFixture[str]) -> None:
    secure = SecureListeners(
        sasl_ssl_bootstrap="127.0.0.1:9094",
        ssl_bootstrap="127.0.0.1:9093",
        cafile=Path("/etc/kafka certs/ca.pem"),
        username="custodywatch",
        password=SecretStr("pw-1"),
    )
    _print_secure(secure)
    out = capsys.readouterr().out
    script = f"{out}\nenv | grep ^CUSTODYWATCH_KAFKA_ | sort"
    shown = subprocess.run(
        ["sh", "-c", script],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.splitlines() == [
        "CUSTODYWATCH_KAFKA_BOOTSTRAP=127.0.0.1:9094",
        "CUSTODYWATCH_KAFKA_SASL_MECHANISM=SCRAM-SHA-512",
        "CUSTODYWATCH_KAFKA_SASL_PASSWORD=pw-1",
        "CUSTODYWATCH_KAFKA_SASL_USERNAME=custodywatch",
        "CUSTODYWATCH_KAFKA_SECURITY_PROTOCOL=SASL_SSL",
        "CUSTODYWATCH_KAFKA_SSL_CAFILE=/etc/kafka certs/ca.pem",
    ]
    assert shlex.quote("/etc/kafka certs/ca.pem") in out
