"""README command one, as a user runs it (against the session's broker)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from custodywatch.demo import DemoOptions, demo_records
from custodywatch.localkafka import KafkaConnection, free_port

# Each demo writes build/demo/: one xdist worker runs them one after the other.
pytestmark = [pytest.mark.kafka, pytest.mark.xdist_group("demo")]

ALERT_LINE = re.compile(r"  \w{3} \d\d:\d\d  ")
PERSONAL_FIELDS = frozenset({"date_of_birth", "reason", "source", "sex"})


def _demo(kafka: KafkaConnection, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "custodywatch.cli", "demo", "--hours", "8", "--speed", "7200",
        "--metrics-port", str(free_port()), *args,
    ]  # fmt: skip


def _env(kafka: KafkaConnection) -> dict[str, str]:
    return {**os.environ, "CUSTODYWATCH_KAFKA_BOOTSTRAP": kafka.bootstrap_servers}


def _personal_data(options: DemoOptions) -> set[str]:
    """What the demo's events say about people beyond their pseudonymous refs:
    dates of birth and free text."""
    found: set[str] = set()

    def walk(value: object, name: str = "") -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, key)
        # Shorter values ('M') could be found in any text by accident.
        elif isinstance(value, str) and name in PERSONAL_FIELDS and len(value) >= 6:
            found.add(value)

    for _, _, raw in demo_records(options):
        try:
            walk(json.loads(raw))
        except ValueError:
            continue  # the simulator's deliberately broken lines
    return found


def test_demo_streams_traffic_shows_alerts_and_summarises(kafka: KafkaConnection) -> None:
    done = subprocess.run(
        _demo(kafka, "--log-format", "json", "--log-level", "info"),
        env=_env(kafka), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    assert "using the Kafka cluster at" in out and "starting a local Kafka broker" not in out
    alert_lines = [line for line in out.splitlines() if ALERT_LINE.match(line)]
    assert alert_lines, out[-2000:]
    assert "local policy" in out
    summary = out[out.index("summary:") :]
    total = int(re.search(r"(\d+) alert records", summary).group(1))  # type: ignore[union-attr]
    assert total == len(alert_lines)
    dead = int(re.search(r"dead-letter topic: (\d+)", summary).group(1))  # type: ignore[union-attr]
    assert ("deliberate producer mistakes" in summary) == (dead > 0)
    assert not re.search(r"\bP-\d", out), "the terminal shows no person_ref"

    # serve told people: on raise, up the ladder, on resolution; the sergeant acknowledged.
    kinds = {m.group(1) for m in re.finditer(r"^    notify \w{3} \d\d:\d\d  (\w+)", out, re.M)}
    assert {"raised", "escalated", "resolved"} <= kinds, out[-3000:]
    assert re.search(r"^    ack    sgt-demo takes \S+: its escalation stops", out, re.M)
    assert "0 bad signatures" in out
    report = re.search(r"safeguarding report of these days, from the store: (\S+)", out)
    assert report is not None
    assert "s.38(6)" in Path(report.group(1)).read_text(encoding="utf-8")

    # The logs: one JSON object per line, nothing about a person but pseudonymous refs.
    entries = [json.loads(line) for line in done.stderr.splitlines()]
    assert entries, "the demo logs at info"
    assert all({"ts", "level", "logger", "message"} <= e.keys() for e in entries)
    assert any(e["message"] == "demo finished" for e in entries)
    personal = _personal_data(DemoOptions(hours=8))
    assert personal, "the scan looks for something"
    leaked = [value for value in personal if value in done.stderr]
    assert not leaked, leaked[:5]


def test_ctrl_c_stops_the_demo_cleanly_with_its_summary(kafka: KafkaConnection) -> None:
    process = subprocess.Popen(
        _demo(kafka), env=_env(kafka), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if ALERT_LINE.match(line):
            break
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=120)
    out = "".join(seen) + rest
    assert process.returncode == 130, err
    assert "summary: interrupted;" in out, out[-2000:]
    assert "rejected to the dead-letter topic" in out
    assert "Traceback" not in err and "CancelledError" not in err, err
