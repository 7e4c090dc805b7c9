"""README command one, as a user runs it (against the session's broker)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from custodywatch.localkafka import KafkaConnection, free_port

pytestmark = pytest.mark.kafka


def test_demo_streams_traffic_shows_alerts_and_summarises(kafka: KafkaConnection) -> None:
    env = {**os.environ, "CUSTODYWATCH_KAFKA_BOOTSTRAP": kafka.bootstrap_servers}
    done = subprocess.run(
        [sys.executable, "-m", "custodywatch.cli", "demo", "--hours", "8", "--speed", "7200",
         "--metrics-port", str(free_port())],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    alert_lines = [line for line in out.splitlines() if re.match(r"  \w{3} \d\d:\d\d  ", line)]
    assert alert_lines, out[-2000:]
    assert "local policy" in out
    summary = out[out.index("summary:") :]
    total = int(re.search(r"(\d+) alerts", summary).group(1))  # type: ignore[union-attr]
    assert total == len(alert_lines)
    assert "rejected to the dead-letter topic" in summary
    assert not re.search(r"\bP-\d", out), "the terminal shows no person_ref"
