"""`custodywatch serve` with a bad escalation or routing file, or an unset webhook secret:
exit 2 and one line naming the key or the variable, before it touches Kafka."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from storekit import kafka_routing


def run_serve(tmp_path: Path, routing: Path, *extra: str, **env: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-m", "custodywatch.cli", "serve", "--routing", str(routing), *extra],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("CUSTODYWATCH_")},
            # Nothing listens there: a serve that got past its files would fail differently.
            "CUSTODYWATCH_KAFKA_BOOTSTRAP": "127.0.0.1:1",
            "CUSTODYWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
            "CUSTODYWATCH_SERVE_METRICS_PORT": "0",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, [line for line in done.stderr.splitlines() if line.strip()]


def routing(tmp_path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(Path(kafka_routing(tmp_path / "good.yaml")).read_text())
    return loaded


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_a_webhook_without_its_url_names_the_key(tmp_path: Path) -> None:
    bad = routing(tmp_path)
    bad["suites"]["perry-barr"]["custody_sergeant"] = {
        "channels": [{"type": "webhook", "secret_env": "CW_SECRET"}]
    }
    code, lines = run_serve(tmp_path, write(tmp_path / "routing.yaml", bad), CW_SECRET="s")
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert "suites.perry-barr.custody_sergeant.channels[0].url" in lines[0]
    assert "Traceback" not in lines[0]


def test_an_unknown_key_in_the_escalation_file_is_named(tmp_path: Path) -> None:
    routing_path = write(tmp_path / "routing.yaml", routing(tmp_path))
    escalation = write(
        tmp_path / "escalation.yaml",
        "version: 1\nseverities:\n  warning:\n    steps:\n"
        "      - {after: 0m, notify: [custody_sergeant]}\n    escalate_every: 10m\n",
    )
    code, lines = run_serve(tmp_path, routing_path, "--escalation", str(escalation))
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert "severities.warning.escalate_every" in lines[0]
    assert str(escalation) in lines[0]


def test_an_escalation_file_with_a_bad_duration_is_named(tmp_path: Path) -> None:
    routing_path = write(tmp_path / "routing.yaml", routing(tmp_path))
    escalation = write(
        tmp_path / "escalation.yaml",
        "version: 1\nseverities:\n  critical:\n    steps:\n"
        "      - {after: 0m, notify: [custody_sergeant]}\n"
        "      - {after: soon, notify: [duty_inspector]}\n",
    )
    code, lines = run_serve(tmp_path, routing_path, "--escalation", str(escalation))
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert "severities.critical.steps[1].after" in lines[0]


def test_a_routing_file_with_an_unknown_suite_key_is_named(tmp_path: Path) -> None:
    bad = routing(tmp_path)
    bad["suites"]["perry-barr"]["desk_officer"] = bad["suites"]["perry-barr"]["custody_sergeant"]
    code, lines = run_serve(tmp_path, write(tmp_path / "routing.yaml", bad))
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert "suites.perry-barr.desk_officer" in lines[0]


@pytest.mark.parametrize("value", [None, ""])
def test_a_webhook_whose_secret_variable_is_unset_names_the_variable(
    tmp_path: Path, value: str | None
) -> None:
    hooked = routing(tmp_path)
    hooked["local_authorities"]["sandwell"]["out_of_hours"] = {
        "channels": [
            {"type": "webhook", "url": "http://127.0.0.1:1/edt", "secret_env": "CW_SANDWELL_EDT"}
        ]
    }
    env = {} if value is None else {"CW_SANDWELL_EDT": value}
    code, lines = run_serve(tmp_path, write(tmp_path / "routing.yaml", hooked), **env)
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert "CW_SANDWELL_EDT" in lines[0]
    assert "la/sandwell/out_of_hours" in lines[0]


def test_a_bad_rules_file_for_the_monthly_reports_is_named(tmp_path: Path) -> None:
    routing_path = write(tmp_path / "routing.yaml", routing(tmp_path))
    rules = write(tmp_path / "rules.yaml", "detention_duration: {breach: six hours}\n")
    code, lines = run_serve(tmp_path, routing_path, "--rules", str(rules))
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert str(rules) in lines[0] and "detention_duration" in lines[0]
    assert "Traceback" not in lines[0]
