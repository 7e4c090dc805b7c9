"""`custodywatch serve | alerts list | alerts show | ack` as a person runs them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import BinaryIO

import pytest
from aiokafka import AIOKafkaProducer
from storekit import alert, alert_bytes, kafka_routing

from custodywatch.config import Settings, Topics
from custodywatch.contract.alerts import AlertRecord
from custodywatch.localkafka import KafkaConnection
from custodywatch.store.fold import ensure_fold_topics
from custodywatch.store.pgserver import LocalPostgres


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "custodywatch.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def send(settings: Settings, records: list[AlertRecord]) -> None:
    producer = AIOKafkaProducer(**settings.kafka.client_kwargs())
    await producer.start()
    try:
        for record in records:
            key = record.alert_id.encode()
            await producer.send(settings.topics.alerts, key=key, value=alert_bytes(record))
        await producer.flush()
    finally:
        await producer.stop()


def start_serve(env: dict[str, str], log: BinaryIO) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "custodywatch.cli", "serve"]
    return subprocess.Popen(command, env=env, stdout=log, stderr=log)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "not a SQLAlchemy URL"),
        ("mysql://db.example/cw", "only sqlite and postgresql"),
        ("sqlite:////no/such/dir/cw.db", "no such directory"),
        ("postgresql://cw:s3cret@127.0.0.1:1/cw", "Connection refused"),
    ],
)
@pytest.mark.parametrize(
    "command", [["serve"], ["alerts", "list"], ["alerts", "show", "A"], ["ack", "A", "--by", "u"]]
)
def test_an_unusable_database_is_one_line_and_exit_2(
    url: str, says: str, command: list[str], tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "CUSTODYWATCH_DATABASE_URL": url,
        "CUSTODYWATCH_KAFKA_BOOTSTRAP": "127.0.0.1:1",
        "CUSTODYWATCH_ROUTING": kafka_routing(tmp_path / "routing.yaml"),
    }
    result = run(command, env)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if "alembic" not in line]
    assert len(lines) == 1 and lines[0].startswith("custodywatch: "), result.stderr
    assert says in lines[0]
    assert "s3cret" not in result.stderr and "Traceback" not in result.stderr


def test_serve_with_kafka_unreachable_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CUSTODYWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'cw.db'}",
        "CUSTODYWATCH_KAFKA_BOOTSTRAP": "127.0.0.1:1",
        "CUSTODYWATCH_ROUTING": kafka_routing(tmp_path / "routing.yaml"),
    }
    result = run(["serve"], env)
    assert result.returncode == 1  # a service that cannot be reached, as every command says it
    lines = [line for line in result.stderr.splitlines() if "alembic" not in line]
    assert len(lines) == 1 and "cannot connect to Kafka at 127.0.0.1:1" in lines[0], result.stderr
    assert "Traceback" not in result.stderr and "Unclosed" not in result.stderr


@pytest.mark.kafka
async def test_serve_then_list_show_and_ack(
    kafka: KafkaConnection, database_url: str, tmp_path: Path
) -> None:
    run_id = uuid.uuid4().hex[:8]
    settings = Settings(kafka=kafka, topics=Topics.prefixed(f"c-{run_id}"), group_id=f"g-{run_id}")
    env = {
        **os.environ,
        **settings.to_env(),
        "CUSTODYWATCH_DATABASE_URL": database_url,
        "CUSTODYWATCH_ROUTING": kafka_routing(tmp_path / "routing.yaml"),
        "CUSTODYWATCH_SERVE_METRICS_PORT": "0",
    }
    await ensure_fold_topics(settings)
    records = [
        alert(1, suite="perry-barr"),
        alert(2, suite="steelhouse"),
        alert(3),
        alert(3, "resolved"),
    ]
    await send(settings, records)

    with (tmp_path / "serve.log").open("ab") as log:
        serve = start_serve(env, log)
        try:
            deadline = time.monotonic() + 60
            while len(run(["alerts", "list", "--json"], env).stdout.splitlines()) < 3:
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                await asyncio.sleep(0.3)
        finally:
            serve.send_signal(signal.SIGTERM)
            assert serve.wait(timeout=30) == 0

    listed = run(["alerts", "list", "--open", "--suite", "perry-barr", "--json"], env)
    assert [json.loads(line)["alert_id"] for line in listed.stdout.splitlines()] == [
        "CR1/six_hours/warning"
    ]
    table = run(["alerts", "list"], env)
    assert table.returncode == 0 and len(table.stdout.splitlines()) == 3
    assert table.stdout.splitlines()[0].split()[1] == "resolved"  # CR3: the newest

    acked = run(
        [
            "ack",
            "CR1/six_hours/warning",
            "--by",
            "sgt-41",
            "--role",
            "suite/perry-barr/custody_sergeant",
        ],
        env,
    )
    assert acked.returncode == 0 and "acknowledged" in acked.stderr
    again = run(["ack", "CR1/six_hours/warning", "--by", "insp-2"], env)
    assert again.returncode == 0 and "already acknowledged" in again.stderr
    assert run(["ack", "CR404", "--by", "x"], env).returncode == 1

    shown = run(["alerts", "show", "CR1/six_hours/warning", "--json"], env)
    history = json.loads(shown.stdout)
    assert history["alert"]["ack_by"] == "sgt-41"
    kinds = [e["kind"] for e in history["log"]]
    # Raised, the sergeant told (serve's lifecycle), and one acknowledgement: the first.
    assert kinds[0] == "raised" and "notified" in kinds
    assert kinds.count("acknowledged") == 1
    ack = next(e for e in history["log"] if e["kind"] == "acknowledged")
    assert ack["actor"] == "sgt-41"
    text = run(["alerts", "show", "CR3/six_hours/warning"], env)
    assert text.returncode == 0 and "resolved" in text.stdout and "E3-resolved" in text.stdout
    missing = run(["alerts", "show", "CR404"], env)
    assert missing.returncode == 1 and missing.stderr.strip() == "custodywatch: no alert CR404"


@pytest.mark.kafka
async def test_serve_stops_with_one_line_and_exit_2_when_the_database_goes_away(
    kafka: KafkaConnection, tmp_path: Path
) -> None:
    run_id = uuid.uuid4().hex[:8]
    settings = Settings(kafka=kafka, topics=Topics.prefixed(f"d-{run_id}"), group_id=f"g-{run_id}")
    await ensure_fold_topics(settings)
    with LocalPostgres(durable=False) as server, (tmp_path / "serve.log").open("wb") as log:
        url = server.create_database("gone")
        env = {
            **os.environ,
            **settings.to_env(),
            "CUSTODYWATCH_DATABASE_URL": url,
            "CUSTODYWATCH_ROUTING": kafka_routing(tmp_path / "routing.yaml"),
            "CUSTODYWATCH_SERVE_METRICS_PORT": "0",
        }
        serve = start_serve(env, log)
        try:
            await send(settings, [alert(1)])
            deadline = time.monotonic() + 60
            while not run(["alerts", "list", "--json"], env).stdout:
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                await asyncio.sleep(0.3)
            server.stop()  # the database goes away under a running serve
            await send(settings, [alert(2)])
            code = await asyncio.to_thread(serve.wait, 60)
        finally:
            if serve.poll() is None:
                serve.kill()
    output = (tmp_path / "serve.log").read_text()
    assert code == 2, output
    last = output.strip().splitlines()[-1]
    assert last.startswith("custodywatch: database postgresql+psycopg://"), output
    assert "Traceback" not in output
