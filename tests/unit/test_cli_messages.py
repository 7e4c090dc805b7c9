"""What a person reads when something is wrong: one line that names the problem."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from custodywatch.argtypes import timestamp
from custodywatch.cli import main
from custodywatch.config import Settings
from custodywatch.errors import explain

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample-events.jsonl"
CLOSED = "127.0.0.1:1"  # nothing listens on port 1


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean CUSTODYWATCH_* environment pointing at a closed port."""
    for name in list(os.environ):
        if name.startswith("CUSTODYWATCH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CUSTODYWATCH_KAFKA_BOOTSTRAP", CLOSED)
    return monkeypatch


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("custodywatch: ")
    return lines[0]


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("CUSTODYWATCH_METRICS_PORT", "abc", "CUSTODYWATCH_METRICS_PORT: not a valid integer"),
        ("CUSTODYWATCH_METRICS_PORT", "99999", "CUSTODYWATCH_METRICS_PORT: must be at most 65535"),
        ("CUSTODYWATCH_CLOCK_MODE", "bogus", "CUSTODYWATCH_CLOCK_MODE: must be one of 'wall'"),
        ("CUSTODYWATCH_PARTITIONS", "0", "CUSTODYWATCH_PARTITIONS: must be at least 1"),
        ("CUSTODYWATCH_KAFKA_SECURITY_PROTOCOL", "TLS", "CUSTODYWATCH_KAFKA_SECURITY_PROTOCOL"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    says: str,
) -> None:
    env.setenv(variable, value)
    assert main(["worker"]) == 2
    assert says in _one_error_line(capsys)


def test_a_ca_file_that_does_not_exist_is_named(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-ca.pem"
    env.setenv("CUSTODYWATCH_KAFKA_SSL_CAFILE", str(missing))
    assert main(["tick", "2026-03-01T00:00:00+00:00"]) == 2
    line = _one_error_line(capsys)
    assert "CUSTODYWATCH_KAFKA_SSL_CAFILE" in line and str(missing) in line
    assert "No such file or directory" in line


def test_a_ca_file_that_is_not_a_certificate_is_named(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n")
    env.setenv("CUSTODYWATCH_KAFKA_SSL_CAFILE", str(junk))
    assert main(["publish", str(SAMPLE)]) == 2
    assert str(junk) in _one_error_line(capsys)


def test_the_sasl_password_is_never_dumped_in_clear() -> None:
    settings = Settings.from_env(
        {
            "CUSTODYWATCH_KAFKA_BOOTSTRAP": "b:9093",
            "CUSTODYWATCH_KAFKA_SASL_USERNAME": "svc",
            "CUSTODYWATCH_KAFKA_SASL_PASSWORD": "hunter2-secret",
            "CUSTODYWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        }
    )
    assert "hunter2-secret" not in str(settings.model_dump())
    assert "hunter2-secret" not in settings.model_dump_json()
    assert "hunter2-secret" not in repr(settings)
    assert settings.kafka.client_kwargs()["sasl_plain_password"] == "hunter2-secret"


@pytest.mark.parametrize("value", ["-1", "99999", "http"])
def test_demo_refuses_a_port_that_cannot_be(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--metrics-port", value])
    assert exit_.value.code == 2
    assert "--metrics-port" in capsys.readouterr().err


def test_a_timestamp_without_offset_suggests_one_that_is_accepted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["replay", str(SAMPLE), "--until", "2026-03-01"])
    err = capsys.readouterr().err
    suggestion = err.rsplit("e.g. ", 1)[1].strip()
    assert suggestion == "2026-03-01T00:00:00+00:00"
    assert timestamp(suggestion).utcoffset() is not None


def test_replay_refuses_an_unwritable_rejects_path_before_writing_alerts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["replay", str(SAMPLE), "--rejects", "/nonexistent-dir/x.jsonl"]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no alerts were written before the refusal
    assert "cannot write /nonexistent-dir/x.jsonl" in err


def test_replay_of_a_binary_file_hints_at_rejects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "events.jsonl.gz"
    binary.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\n\xff\xfe\x00\x01\n")
    assert main(["replay", str(binary)]) == 0
    err = capsys.readouterr().err
    assert "no line was a valid event" in err and "--rejects PATH" in err


def test_replay_with_some_rejects_hints_at_rejects(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(SAMPLE), "--out", os.devnull]) == 0
    err = capsys.readouterr().err
    assert "--rejects PATH writes each rejected line" in err
    assert "no line was a valid event" not in err


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_an_empty_rules_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)
    assert main(["replay", str(SAMPLE), "--rules", str(rules)]) == 2
    assert "the rules file is empty" in _one_error_line(capsys)


def test_schemas_check_works_from_any_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["schemas", "export", "--check"]) == 0
    assert "schemas up to date" in capsys.readouterr().err


def test_schemas_check_of_a_missing_directory_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "export", "--check", "--dir", "/nonexistent"]) == 2
    assert "no schemas directory at /nonexistent" in _one_error_line(capsys)


def test_schemas_check_tells_missing_from_out_of_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schemas", "export", "--dir", str(tmp_path)]) == 0
    (tmp_path / "rules.schema.json").write_text("{}\n")
    (tmp_path / "alert.v2.schema.json").unlink()
    capsys.readouterr()
    assert main(["schemas", "export", "--check", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "missing from" in err and "alert.v2.schema.json" in err
    assert "out of date in" in err and "rules.schema.json" in err


def test_known_failures_have_a_line_and_a_code_and_bugs_do_not() -> None:
    interrupted = explain(KeyboardInterrupt())
    assert interrupted is not None and interrupted.code == 130
    in_use = explain(OSError(errno.EADDRINUSE, "Address already in use"))
    assert in_use is not None and "CUSTODYWATCH_METRICS_PORT" in in_use.message
    assert explain(ZeroDivisionError()) is None
    assert explain(OSError(errno.ENOENT, "gone")) is None


def test_a_refused_login_or_certificate_names_the_settings_to_check() -> None:
    from aiokafka.errors import KafkaConnectionError

    unreachable = KafkaConnectionError("Unable to bootstrap from [('b', 9094)]")
    login = explain(
        unreachable,
        "b:9094",
        "[Error 58] SaslAuthenticationFailed: Authentication failed: Invalid username or password",
    )
    assert login is not None and login.code == 1
    assert login.message.startswith("Kafka at b:9094 refused the login ([Error 58]")
    assert "CUSTODYWATCH_KAFKA_SASL_USERNAME, _SASL_PASSWORD" in login.message
    untrusted = explain(
        unreachable, "b:9094", "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
    )
    assert untrusted is not None and "CUSTODYWATCH_KAFKA_SSL_CAFILE" in untrusted.message
    assert untrusted.message.startswith("the certificate of Kafka at b:9094 is not trusted")
    refused = explain(unreachable, "b:9094", "[Errno 111] Connect call failed")
    assert refused is not None and "is the broker running" in refused.message
