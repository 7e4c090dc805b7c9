"""A report as a zip of CSV files: one per table (`<table id>.csv`, the same cells as
the HTML, counts without thousands separators), and `README.txt` with the title,
the edition and the definitions."""

from __future__ import annotations

import csv
import io
import zipfile

from custodywatch.report import cells
from custodywatch.report.model import Report, Table, Withheld

# Fixed member times: the same report gives the same bytes.
_STAMP = (1980, 1, 1, 0, 0, 0)


def table_csv(table: Table, withheld: Withheld) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["key", "label", *table.columns])
    for r, row in enumerate(table.rows):
        texts = [cells.text(table, (r, c), withheld, plain=True) for c in range(len(row.cells))]
        writer.writerow([row.key, row.label, *texts])
    return buffer.getvalue()


def readme(report: Report) -> str:
    lines = [report.title, f"Made {report.generated_at.isoformat()}", ""]
    lines += [f"{i}. {d}" for i, d in enumerate(report.definitions, start=1)]
    lines += ["", "Tables:"]
    lines += [f"  {t.id}.csv  {t.title}" for t in report.tables()]
    return "\n".join(lines) + "\n"


def render_csv_zip(report: Report) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, text: str) -> None:
            info = zipfile.ZipInfo(name, _STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))

        add("README.txt", readme(report))
        for table in report.tables():
            add(f"{table.id}.csv", table_csv(table, report.withheld_in(table.id)))
    return buffer.getvalue()
