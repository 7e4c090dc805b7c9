"""`report --events --jobs N`: the replay in N worker processes gives what one gives.

On the simulator's month (its deliberately bad lines, duplicates, age corrections, open
episodes at the end) with hand-made lines meant to mislead the byte search, shuffled,
some with CRLF: the merged summaries, alerts and counts, and the report's HTML and CSV
byte for byte, for 1, 2 and 3 jobs. A worker that fails or dies, and Ctrl-C: one line,
no worker left behind.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from builders import Episode
from test_whatif_children import MISLEADING, MONTH, shuffled

import custodywatch.report.cli as report_cli
from custodywatch.cli import main
from custodywatch.core.config import RuleConfig
from custodywatch.replay import decode_file, summaries_of
from custodywatch.report import parallel
from custodywatch.report.parallel import Part, ReplayFailedError, replay_in_processes
from custodywatch.report.shares import key_of, share_of, split


def _escaped() -> list[bytes]:
    """Valid lines the byte search cannot read: an escaped key or value, the key twice."""
    child = Episode("E1", dob="2011-01-01").at("+7h", "released").lines()
    escaped_value = [line.replace(b'"E1"', b'"\\u00451"') for line in child]  # still E1
    twice = Episode("E2", dob="2012-01-01").at("+2h", "released").lines()
    twice[0] = twice[0][:-1] + b',"custody_record_id":"E3"}'  # the last one counts: E3
    non_ascii = Episode("E\u00e94", dob="2011-06-01").at("+8h", "released").lines()
    return [escaped_value[0], *child[1:], *twice, *non_ascii]


LINES = [line.rstrip(b"\n") + b"\n" for line in shuffled(MONTH + MISLEADING + _escaped(), 7)]
LINES = [line[:-1] + b"\r\n" if n % 5 == 0 else line for n, line in enumerate(LINES)]


def test_the_byte_search_reads_the_key_or_says_it_is_unsure() -> None:
    assert key_of(b'{"a":1,"custody_record_id" : "R-1/2","b":"x"}') == b"R-1/2"
    assert key_of(b'{"custody_record_id":"R\\u0031"}') is None  # an escape
    assert key_of(b'{"custody_record_id":"R1","custody_record_id":"R2"}') is None
    assert key_of('{"custody_record_id":"R\u00e9"}'.encode()) is None  # not ASCII
    assert key_of(b'{"custody_record_id":7}') is None
    assert key_of(b"not json") is None


def test_every_line_is_owned_once_or_unsure() -> None:
    shares = split(LINES, 3)
    owned = [n for share in shares.owned for n in share]
    assert len(owned) == len(set(owned)) and not set(owned) & set(shares.unsure)
    assert len(owned) + len(shares.unsure) == shares.count == sum(1 for x in LINES if x.strip())
    assert len(shares.unsure) >= 6  # the six hand-made lines the search cannot read
    for me, share in enumerate(shares.owned):
        assert all(share_of(key_of(LINES[n - 1]) or b"", 3) == me for n in share)


@pytest.mark.parametrize("jobs", [2, 3])
def test_workers_give_what_one_replay_gives(jobs: int) -> None:
    one = Part.of(*summaries_of(decode_file(LINES), RuleConfig()))
    assert {"E1", "E3", "E\u00e94"} <= {s.custody_record_id for s in one.summaries}
    assert any(s.ended_at is None for s in one.summaries)  # open at the end of the file
    assert one.duplicates and one.rejects
    assert replay_in_processes(LINES, RuleConfig(), jobs) == one


class Fixed(dt.datetime):
    @classmethod
    def now(cls, tz: Any = None) -> Fixed:
        return cls(2026, 5, 1, 9, 0, tzinfo=dt.UTC).astimezone(tz)


def _report(events: Path, out: Path, fmt: str, jobs: int) -> bytes:
    argv = ["report", "--events", str(events), "--from", "2026-01-01", "--to", "2026-12-31"]
    assert main([*argv, "--format", fmt, "--out", str(out), "--jobs", str(jobs)]) == 0
    return out.read_bytes()


@pytest.mark.parametrize("fmt", ["html", "csv"])
def test_the_report_is_byte_for_byte_that_of_one_process(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(report_cli, "datetime", Fixed)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(LINES))
    one = _report(events, tmp_path / "one", fmt, 1)
    err_one = capsys.readouterr().err
    assert "alert records" in err_one and "duplicates" in err_one
    for jobs in (2, 3):
        assert _report(events, tmp_path / f"out{jobs}", fmt, jobs) == one
        err = capsys.readouterr().err
        assert (
            err.replace(f"events in {jobs} processes", "events").replace(f"out{jobs}", "one")
            == err_one
        )


def _children() -> set[int]:
    """This process's children, reaped or not (a test session may have a broker and a
    PostgreSQL of its own among them)."""
    me, found = os.getpid(), set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # ended meanwhile
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:  # the field after the state
                found.add(int(entry.name))
    return found


@pytest.fixture
def no_worker_left() -> Callable[[], bool]:
    before = _children()
    return lambda: _children() <= before


def _fails(*_: object, **__: object) -> None:
    raise RuntimeError("the engine broke")


def _dies(*_: object, **__: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_that_fails_ends_the_command_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_worker_left: Callable[[], bool],
) -> None:
    monkeypatch.setattr(parallel, "summaries_of", _fails)  # inherited by the workers
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(MONTH))
    argv = ["report", "--events", str(events), "--from", "2026-01-01", "--to", "2026-12-31"]
    assert main([*argv, "--format", "html", "--out", str(tmp_path / "x"), "--jobs", "2"]) == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last == "custodywatch: replay process 1 of 2 failed: RuntimeError: the engine broke"
    assert no_worker_left() and not (tmp_path / "x").exists()


def test_a_worker_that_dies_is_named_with_its_signal(
    monkeypatch: pytest.MonkeyPatch, no_worker_left: Callable[[], bool]
) -> None:
    monkeypatch.setattr(parallel, "summaries_of", _dies)
    with pytest.raises(
        ReplayFailedError,
        match=r"^replay process 1 of 3 ended without its result \(killed by SIGKILL\)$",
    ):
        replay_in_processes(MONTH, RuleConfig(), 3)
    assert no_worker_left()


def _interrupts(*_: object, **__: object) -> None:
    os.kill(os.getppid(), signal.SIGINT)
    time.sleep(60)  # until stopped: the parent must not wait for it


def test_ctrl_c_stops_every_worker(
    monkeypatch: pytest.MonkeyPatch, no_worker_left: Callable[[], bool]
) -> None:
    monkeypatch.setattr(parallel, "summaries_of", _interrupts)
    with pytest.raises(KeyboardInterrupt):
        replay_in_processes(MONTH, RuleConfig(), 2)
    assert no_worker_left()
