"""The PDF, printed by real headless Chromium, read back with poppler: its pages
render to PNG and the key text is in it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from report_builders import alert, report
from test_report_tables import funnel_children

from custodywatch.report.render_html import render_html
from custodywatch.report.render_pdf import render_pdf


def test_pdf_pages_render_and_hold_the_reports_text(tmp_path: Path) -> None:
    rep = report(funnel_children(), [alert("T1")])
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render_pdf(render_html(rep)))
    assert pdf.read_bytes().startswith(b"%PDF-")

    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(
        next(line for line in info.stdout.splitlines() if line.startswith("Pages:")).split()[1]
    )
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == pages >= 3  # A4 landscape: the sections do not fit on two pages
    assert all(p.read_bytes().startswith(b"\x89PNG") and p.stat().st_size > 1000 for p in pngs)

    words = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for needed in (
        "Children in police custody, 1 April 2025 to 30 April 2025",
        "Charged and refused bail",
        "Small numbers are suppressed",
        "s.38(6) funnel",  # a chart title: the SVG is drawn as text, not an image
        "<5",
        "P-T1",
    ):
        assert needed in words, needed
