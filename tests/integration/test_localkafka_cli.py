"""`python -m custodywatch.localkafka start`: the line to paste, and a clean Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest

pytestmark = pytest.mark.kafka


def test_start_prints_the_export_line_and_stops_on_ctrl_c() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODYWATCH_KAFKA_B")}
    process = subprocess.Popen(
        [sys.executable, "-m", "custodywatch.localkafka", "start"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    first = process.stdout.readline()
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=60)
    assert re.fullmatch(r"export CUSTODYWATCH_KAFKA_BOOTSTRAP=127\.0\.0\.1:\d+\n", first), err
    assert rest == ""
    assert process.returncode == 0, err
    assert "Traceback" not in err and "Stopping Kafka" in err
