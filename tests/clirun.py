"""Run `custodywatch` as a person does (a subprocess) and check what it says on failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "custodywatch.cli", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT,
    )  # fmt: skip


def assert_one_line(done: subprocess.CompletedProcess[str], code: int, says: str) -> None:
    """Exit `code`, and one line on stderr, saying `says`: no traceback, no asyncio noise."""
    assert "Traceback" not in done.stderr, done.stderr
    assert "Unclosed" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("custodywatch: ") and says in lines[0], lines[0]
    assert done.returncode == code, done.stderr
