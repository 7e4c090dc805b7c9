"""A what-if as a terminal table, a self-contained HTML page (tables and an inline SVG
chart, the report's style) or a zip of CSV files. The headline is always first."""

from __future__ import annotations

import csv
import io
import zipfile
from html import escape

from custodywatch.report import cells
from custodywatch.report.model import Table, Withheld
from custodywatch.report.render_csv import table_csv
from custodywatch.report.render_html import CSS, table_html
from custodywatch.report.whatif import ALL, TOTAL, WhatIf, measure_label
from custodywatch.report.whatif_views import (
    by_la_view,
    definitions,
    headline,
    period_text,
    period_view,
    views,
)

_STAMP = (1980, 1, 1, 0, 0, 0)  # fixed zip member times: the same input, the same bytes


def _group_line(groups: list[str], widths: list[int]) -> str:
    """Each group name centred over its run of columns ('Children alerted' over three)."""
    out, c = "", 0
    while c < len(groups):
        end = c
        while end + 1 < len(groups) and groups[end + 1] == groups[c]:
            end += 1
        span = sum(widths[c : end + 1]) + 2 * (end - c)
        out += "  " + f"{groups[c]:^{span}}"
        c = end + 1
    return out


def text_table(table: Table, withheld: Withheld) -> str:
    """Label column left, values right-aligned; headers 'Group, column' share a group line."""
    heads = [h.split(", ", 1) if ", " in h else ["", h] for h in table.columns]
    labels = ["  " * row.level + row.label for row in table.rows]
    values = [
        [cells.text(table, (r, c), withheld) for c in range(len(row.cells))]
        for r, row in enumerate(table.rows)
    ]
    label_w = max((len(x) for x in labels), default=0)
    widths = [max(len(heads[c][1]), *(len(v[c]) for v in values)) for c in range(len(heads))]
    groups = [top for top, _ in heads]
    for name in set(groups):  # a group name wider than its columns widens the last one
        run = [c for c, g in enumerate(groups) if g == name]
        short = len(name) - (sum(widths[c] for c in run) + 2 * (len(run) - 1))
        if short > 0:
            widths[run[-1]] += short

    def line(label: str, texts: list[str]) -> str:
        return f"{label:<{label_w}}" + "".join(
            f"  {t:>{w}}" for t, w in zip(texts, widths, strict=True)
        )

    out = [table.title]
    if any(groups):
        out.append(" " * label_w + _group_line(groups, widths))
    out.append(line("", [bottom for _, bottom in heads]))
    out += [line(label, row) for label, row in zip(labels, values, strict=True)]
    return "\n".join(text.rstrip() for text in out)


def render_text(w: WhatIf) -> str:
    parts = ["\n".join(headline(w)), definitions(w)[0]]
    parts += [text_table(v.table, v.withheld) for v in (period_view(w), by_la_view(w))]
    parts.append("\n".join(f"{i}. {d}" for i, d in enumerate(definitions(w)[1:], start=1)))
    return "\n\n".join(parts) + "\n"


def title(w: WhatIf) -> str:
    settings = ", ".join(map(str, w.query.settings))
    where = "" if w.query.local_authority is None else f", home LA {w.query.local_authority}"
    return f"What-if {settings}: alerts for children in custody, {period_text(w)}{where}"


def render_html(w: WhatIf) -> str:
    first, second = headline(w)
    body = [
        f"<h1>{escape(title(w))}</h1>",
        f'<p class="edition"><strong>{escape(first)}</strong><br>{escape(second)}</p>',
        f"<p>{escape(definitions(w)[0])}</p>",
    ]
    body += [table_html(v.table, v.withheld) for v in views(w)]
    body.append('<h2>Definitions</h2><ol class="defs">')
    body += [f"<li>{escape(d)}</li>" for d in definitions(w)]
    body.append("</ol>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title(w))}</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def detail_csv(w: WhatIf) -> str:
    """Every count in long form: one line per local authority, month and measure."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["local_authority", "month", "measure", "label", *map(str.lower, w.detail.columns)]
    )
    for r, row in enumerate(w.detail.rows):
        scope, period, measure = row.key.split("|")
        texts = [cells.text(w.detail, (r, c), w.withheld, plain=True) for c in range(3)]
        writer.writerow(
            [
                "all" if scope == ALL else scope,
                "total" if period == TOTAL else period,
                measure,
                measure_label(measure, w.query.governed),
                *texts,
            ]
        )
    return buffer.getvalue()


def render_csv_zip(w: WhatIf) -> bytes:
    """README.txt (headline, edition, definitions), one CSV per view, whatif_detail.csv."""
    readme = [title(w), "", *headline(w), ""]
    readme += [f"{i}. {d}" for i, d in enumerate(definitions(w), start=1)]
    readme += ["", "Tables:"]
    shown = views(w)
    readme += [f"  {v.table.id}.csv  {v.table.title}" for v in shown]
    readme.append("  whatif_detail.csv  every count: local authority, month, measure")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, text: str) -> None:
            info = zipfile.ZipInfo(name, _STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))

        add("README.txt", "\n".join(readme) + "\n")
        for v in shown:
            add(f"{v.table.id}.csv", table_csv(v.table, v.withheld))
        add("whatif_detail.csv", detail_csv(w))
    return buffer.getvalue()
