"""A report as PDF: its HTML printed by headless Chromium (a real browser engine, so
the PDF matches the HTML, SVG charts included).

Chromium is found as `$CUSTODYWATCH_CHROMIUM`, else `chromium`, `chromium-browser`
or `google-chrome` on the PATH. It runs with a throw-away profile, no network
use (the HTML is self-contained) and a time limit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
TIME_LIMIT_S = 180


class PdfError(Exception):
    """The PDF could not be made; the message is one line for a person."""


def chromium() -> str:
    named = os.environ.get("CUSTODYWATCH_CHROMIUM")
    if named:
        return named
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise PdfError("PDF needs Chromium: install chromium or set CUSTODYWATCH_CHROMIUM")


def render_pdf(html: str) -> bytes:
    binary = chromium()
    with tempfile.TemporaryDirectory(prefix="custodywatch-report-") as scratch:
        page, pdf = Path(scratch) / "report.html", Path(scratch) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        command = [
            binary,
            "--headless",
            "--disable-gpu",
            "--disable-extensions",
            "--no-first-run",
            f"--user-data-dir={Path(scratch) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
        ]
        if os.geteuid() == 0:  # Chromium refuses to sandbox itself as root (containers)
            command.append("--no-sandbox")
        command.append(page.as_uri())
        try:
            done = subprocess.run(
                command, capture_output=True, timeout=TIME_LIMIT_S, check=False, text=True
            )
        except FileNotFoundError:
            raise PdfError(f"cannot run {binary}: not found") from None
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not finish the PDF within {TIME_LIMIT_S} s") from None
        if done.returncode != 0 or not pdf.is_file():
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise PdfError(f"Chromium could not print the PDF (exit {done.returncode}): {last}")
        return pdf.read_bytes()
