"""A report as one self-contained HTML file: inline CSS and SVG, no script, no
network; it prints (and renders to PDF) as A4 landscape."""

from __future__ import annotations

from html import escape

from custodywatch.report import cells, svg
from custodywatch.report.model import Report, Table, Withheld

CSS = """
@page { size: A4 landscape; margin: 12mm; }
body { font-family: Helvetica, Arial, sans-serif; font-size: 11pt; color: #111; margin: 0 auto;
       max-width: 1200px; }
h1 { font-size: 18pt; margin-bottom: 4px; }
h2 { font-size: 14pt; border-bottom: 2px solid #1f5f99; padding-bottom: 2px; margin-top: 28px;
     break-after: avoid; }
h3 { font-size: 11.5pt; margin: 18px 0 6px; break-after: avoid; }
.edition { padding: 8px 12px; border: 2px solid #c2571a; background: #fff4ec; margin: 10px 0; }
table { border-collapse: collapse; margin: 4px 0; break-inside: avoid; }
th, td { border: 1px solid #bbb; padding: 2px 6px; font-size: 9.5pt; }
th { background: #eef3f8; text-align: center; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.l1 { padding-left: 18px; } td.l2 { padding-left: 32px; }
td.l3 { padding-left: 46px; } td.l4 { padding-left: 60px; }
p.note { font-size: 9pt; color: #444; margin: 2px 0; }
figure { margin: 6px 0 14px; break-inside: avoid; }
ol.defs li { margin-bottom: 3px; font-size: 10pt; }
.empty { color: #666; font-style: italic; }
"""


def chart_svg(table: Table, withheld: Withheld) -> str:
    chart = table.chart
    if chart is None or not table.rows:
        return ""
    if chart.kind == "line":
        xs = [table.columns[c] for c in chart.columns]
        series = [
            (table.rows[r].label, [cells.value(table, (r, c), withheld) for c in chart.columns])
            for r in chart.rows
        ]
        return svg.lines(chart.title, xs, series, chart.unit, chart.unit_name)
    rows = [r for r in chart.rows if r < len(table.rows)]
    labels = [table.rows[r].label for r in rows]
    values = [cells.value(table, (r, chart.column), withheld) for r in rows]
    shown = [cells.text(table, (r, chart.column), withheld) for r in rows]
    return svg.bars(chart.title, labels, values, shown)


def table_html(table: Table, withheld: Withheld) -> str:
    out = [f'<h3 id="{escape(table.id)}">{escape(table.title)}</h3>']
    if not table.rows:
        out.append('<p class="empty">None in this period.</p>')
    else:
        out.append("<table><thead><tr><th></th>")
        out += [f"<th>{escape(h)}</th>" for h in table.columns]
        out.append("</tr></thead><tbody>")
        for r, row in enumerate(table.rows):
            out.append(f'<tr><td class="l{row.level}">{escape(row.label)}</td>')
            for c in range(len(row.cells)):
                out.append(f'<td class="n">{escape(cells.text(table, (r, c), withheld))}</td>')
            out.append("</tr>")
        out.append("</tbody></table>")
    out += [f'<p class="note">{escape(n)}</p>' for n in table.notes]
    drawing = chart_svg(table, withheld)
    if drawing:
        out.append(f"<figure>{drawing}</figure>")
    return "\n".join(out)


def render_html(report: Report) -> str:
    q = report.query
    edition = "suppressed: for distribution" if q.suppress else "NOT suppressed: internal use only"
    body = [
        f"<h1>{escape(report.title)}</h1>",
        f"<p>Made {report.generated_at:%d %B %Y %H:%M %Z}. Small numbers {escape(edition)}.</p>",
        f'<p class="edition">{escape(report.definitions[0])}</p>',
    ]
    for section in report.sections:
        body.append(f'<h2 id="{escape(section.id)}">{escape(section.title)}</h2>')
        body += [f"<p>{escape(p)}</p>" for p in section.intro]
        body += [table_html(t, report.withheld_in(t.id)) for t in section.tables]
    body.append('<h2>Definitions</h2><ol class="defs">')
    body += [f"<li>{escape(d)}</li>" for d in report.definitions]
    body.append("</ol>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(report.title)}</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
