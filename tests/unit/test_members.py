"""`worker --processes N`: the members run as forked processes; one failure stops them all."""

from __future__ import annotations

import time
from pathlib import Path

from custodywatch.stream.members import run_members


def test_every_member_runs_once_and_all_succeeding_is_success(tmp_path: Path) -> None:
    def member(index: int) -> int:
        (tmp_path / f"ran-{index}").write_text("ok")
        return 0

    assert run_members(3, member) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ran-0", "ran-1", "ran-2"]


def test_a_failing_member_stops_the_others_and_gives_its_exit_code(tmp_path: Path) -> None:
    def member(index: int) -> int:
        if index == 1:
            return 3  # e.g. the broker refused it: its one line is already on stderr
        time.sleep(60)
        (tmp_path / f"finished-{index}").write_text("should have been stopped")
        return 0

    assert run_members(2, member) == 3
    assert list(tmp_path.iterdir()) == []
