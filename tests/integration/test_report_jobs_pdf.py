"""`report --events --format pdf --jobs 2` prints the text of `--jobs 1` (real Chromium,
read back with poppler; the PDF's bytes hold its time of printing, so its text is compared)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from test_report_jobs import LINES, Fixed

import custodywatch.report.cli as report_cli
from custodywatch.cli import main


def _text(events: Path, out: Path, jobs: int) -> str:
    argv = ["report", "--events", str(events), "--from", "2026-01-01", "--to", "2026-12-31"]
    assert main([*argv, "--format", "pdf", "--out", str(out), "--jobs", str(jobs)]) == 0
    return subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_the_pdfs_text_is_that_of_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_cli, "datetime", Fixed)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(LINES))
    one = _text(events, tmp_path / "one.pdf", 1)
    assert "Children in police custody" in one
    assert _text(events, tmp_path / "two.pdf", 2) == one
