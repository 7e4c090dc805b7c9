"""A compiled core module older than its source must never be imported silently."""

from __future__ import annotations

import os
from pathlib import Path

from custodywatch import stale_compiled_modules

SUFFIX = ".cpython-311-x86_64-linux-gnu.so"


def _file(path: Path, mtime: int) -> None:
    path.write_text("")
    os.utime(path, (mtime, mtime))


def test_a_source_edited_after_compiling_is_reported(tmp_path: Path) -> None:
    _file(tmp_path / "engine.py", 1_000)
    _file(tmp_path / f"engine{SUFFIX}", 2_000)
    _file(tmp_path / "rules.py", 3_000)
    _file(tmp_path / f"rules{SUFFIX}", 2_000)
    assert stale_compiled_modules(tmp_path) == ["rules.py"]


def test_fresh_builds_and_the_shared_library_pass(tmp_path: Path) -> None:
    _file(tmp_path / "clock.py", 1_000)
    _file(tmp_path / f"clock{SUFFIX}", 1_000)
    _file(tmp_path / f"native__mypyc{SUFFIX}", 1_000)  # no source of its own
    assert stale_compiled_modules(tmp_path) == []
