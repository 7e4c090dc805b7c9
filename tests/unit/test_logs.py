"""Logs: text or JSON lines, extras as fields, and aiokafka kept to what a person needs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    GroupCoordinatorNotAvailableError,
    NotLeaderForPartitionError,
)

from custodywatch.logs import last_connect_error, setup_logging


class _Stderr:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def getvalue(self) -> str:
        return self.capsys.readouterr().err


@pytest.fixture
def stderr(capsys: pytest.CaptureFixture[str]) -> Iterator[_Stderr]:
    """What the handler set up by the test writes (it writes to the sys.stderr of its time)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield _Stderr(capsys)
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_fields_of_the_call(stderr: _Stderr) -> None:
    setup_logging("json", "info")
    logging.getLogger("custodywatch.worker").info(
        "partition assigned", extra={"partition": 3, "custody_record_id": "CR1"}
    )
    logging.getLogger("custodywatch").debug("not at info")
    (line,) = stderr.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["message"] == "partition assigned"
    assert entry["level"] == "INFO" and entry["logger"] == "custodywatch.worker"
    assert entry["partition"] == 3 and entry["custody_record_id"] == "CR1"
    assert entry["ts"].endswith("Z")


def test_text_lines_are_one_per_event(stderr: _Stderr) -> None:
    setup_logging("text", "warning")
    logging.getLogger("custodywatch").warning("lag growing", extra={"partition": 1})
    (line,) = stderr.getvalue().splitlines()
    assert line.endswith("WARNING custodywatch lag growing partition=1")


def test_aiokafka_never_logs_below_info_even_at_debug(stderr: _Stderr) -> None:
    setup_logging("text", "debug")
    # At DEBUG aiokafka.conn logs each request, SASL PLAIN credentials included.
    logging.getLogger("aiokafka.conn").debug("SaslAuthenticateRequest sasl_auth_bytes=secret")
    logging.getLogger("custodywatch").debug("ours at debug")
    err = stderr.getvalue()
    assert "secret" not in err and "ours at debug" in err


def test_errors_retried_while_a_group_forms_are_dropped(stderr: _Stderr) -> None:
    setup_logging("text", "info")
    coordinator = logging.getLogger("aiokafka.consumer.group_coordinator")
    coordinator.error("Group Coordinator Request failed: %s", GroupCoordinatorNotAvailableError())
    fetcher = logging.getLogger("aiokafka.consumer.fetcher")
    fetcher.error("Failed fetch offsets from %s: %s", 1, NotLeaderForPartitionError())
    assert stderr.getvalue() == ""
    coordinator.error("Group Coordinator Request failed: %s", GroupAuthorizationFailedError())
    assert "GroupAuthorizationFailedError" in stderr.getvalue()  # not retriable: kept


def test_aiokafka_info_lines_only_when_we_debug(stderr: _Stderr) -> None:
    setup_logging("text", "info")
    logging.getLogger("aiokafka.consumer.group_coordinator").info("Joined group 'g'")
    assert stderr.getvalue() == ""
    setup_logging("text", "debug")
    logging.getLogger("aiokafka.consumer.group_coordinator").info("Joined group 'g'")
    assert "Joined group" in stderr.getvalue()


def test_bootstrap_failures_are_kept_for_the_one_line_error(stderr: _Stderr) -> None:
    setup_logging("text", "info")
    logging.getLogger("aiokafka").error(
        'Unable connect to "%s:%s": %s', "127.0.0.1", 1, ConnectionRefusedError(111, "refused")
    )
    assert stderr.getvalue() == ""
    assert last_connect_error() == "[Errno 111] refused"


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="text, json"):
        setup_logging("xml")
