"""No traceback reaches a person: each failure seen by hand, run as a person runs it.

Each command runs in a subprocess (`python -m custodywatch.cli`) and must end with
one clear line on stderr, a non-zero exit code, and no 'Traceback'.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clirun import ROOT
from clirun import assert_one_line as _assert_one_line
from clirun import run_cli as _run

from custodywatch.config import Topics
from custodywatch.localkafka import KafkaConnection, free_port

SAMPLE = ROOT / "examples" / "sample-events.jsonl"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODYWATCH_")}
    return {**env, "CUSTODYWATCH_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}", **extra}


@pytest.mark.parametrize(
    "args",
    [
        ["publish", str(SAMPLE)],
        ["tick", "2026-03-01T00:00:00+00:00"],
        ["simulate", "--kafka", "--detentions", "10"],
        ["alerts", "tail", "--no-follow"],
        ["dlq", "tail", "--no-follow"],
    ],
)
def test_no_broker_is_one_line(args: list[str]) -> None:
    done = _run(args, _env())
    _assert_one_line(done, 1, "cannot connect to Kafka at 127.0.0.1:")
    assert "Connect call failed" in done.stderr  # aiokafka's reason, kept in the line


def test_no_broker_for_the_worker_is_one_line_after_its_start_lines() -> None:
    done = _run(["worker", "--log-level", "warning"], _env(CUSTODYWATCH_METRICS_PORT="0"))
    _assert_one_line(done, 1, "cannot connect to Kafka at 127.0.0.1:")


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("CUSTODYWATCH_CLOCK_MODE", "bogus", "CUSTODYWATCH_CLOCK_MODE: must be one of"),
        ("CUSTODYWATCH_METRICS_PORT", "abc", "CUSTODYWATCH_METRICS_PORT: not a valid integer"),
    ],
)
def test_a_bad_setting_is_one_line(variable: str, value: str, says: str) -> None:
    _assert_one_line(_run(["worker"], _env(**{variable: value})), 2, says)


def test_a_metrics_port_in_use_is_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        done = _run(["worker", "--log-level", "warning"], _env(CUSTODYWATCH_METRICS_PORT=port))
    _assert_one_line(done, 1, "the metrics port is in use")


def test_metrics_port_0_logs_the_port_bound() -> None:
    done = _run(["worker"], _env(CUSTODYWATCH_METRICS_PORT="0"))
    match = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", done.stderr)
    assert match, done.stderr
    assert int(match.group(1)) > 0


def test_a_stale_compiled_core_is_one_line(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "custodywatch", tmp_path / "custodywatch")
    stale = tmp_path / "custodywatch" / "core" / "engine.cpython-311-x86_64-linux-gnu.so"
    stale.write_bytes(b"")
    os.utime(stale, (1_000, 1_000))  # built long before engine.py was last edited
    done = subprocess.run(
        [sys.executable, "-P", "-m", "custodywatch.cli", "replay", str(SAMPLE)],
        env={**_env(), "PYTHONPATH": str(tmp_path)}, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines() == [
        "custodywatch: custodywatch/core/engine.py changed after the core was compiled: "
        "run `make core` to rebuild it, or `make clean-core` to run it interpreted"
    ]
    assert done.returncode == 1


def test_ctrl_c_of_a_command_is_one_line_and_130() -> None:
    """SIGINT while `tick` waits on a broker that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts connections, never answers: the client waits
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "custodywatch.cli", "tick", "2026-03-01T00:00:00+00:00"],
            env=_env(CUSTODYWATCH_KAFKA_BOOTSTRAP=f"127.0.0.1:{listener.getsockname()[1]}"),
            stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        time.sleep(3)  # started and waiting on the silent broker
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        listener.close()
    done = subprocess.CompletedProcess(process.args, process.returncode, "", err)
    _assert_one_line(done, 130, "interrupted")


@pytest.mark.kafka
def test_a_worker_start_logs_no_error_while_its_group_forms(
    kafka: KafkaConnection, unique_topic: str
) -> None:
    """A new group on new topics: the coordinator and the partition leaders are
    "not available" for a moment, and aiokafka retries."""
    topics = {
        f"CUSTODYWATCH_TOPIC_{name.upper()}": value
        for name, value in Topics.prefixed(unique_topic).model_dump().items()
    }
    env = {
        **_env(CUSTODYWATCH_KAFKA_BOOTSTRAP=kafka.bootstrap_servers),
        **topics,
        "CUSTODYWATCH_METRICS_PORT": "0",
        "CUSTODYWATCH_GROUP_ID": unique_topic,
        "CUSTODYWATCH_CLOCK_MODE": "event",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "custodywatch.cli", "worker", "--log-format", "json"],
        env=env, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    time.sleep(15)  # long enough to create the topics, join and claim every partition
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert '"level": "ERROR"' not in err, err
    assert "GroupCoordinatorNotAvailable" not in err
    assert "worker starting" in err and "claimed" in err  # it got as far as its partitions
