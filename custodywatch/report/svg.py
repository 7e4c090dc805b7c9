"""Small inline SVG charts, drawn here so a report needs no script and no network.

Values that are withheld (small numbers) are not drawn: their place shows the
same mark as the table ("<5" or "*").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

COLOURS = ("#1f5f99", "#c2571a", "#3b8f4f", "#7a4f9e")
FONT = 'font-family="Helvetica, Arial, sans-serif" font-size="12"'


def _nice_max(top: float) -> float:
    """A round axis maximum at or above `top`."""
    if top <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(top))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if top <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def bars(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    shown: Sequence[str],
) -> str:
    """Horizontal bars; `shown` is the text printed after each bar (the table's cell)."""
    label_w, bar_w, row_h, top = 260, 360, 22, 28
    width, height = label_w + bar_w + 70, top + row_h * len(labels) + 8
    scale = _nice_max(max((v for v in values if v is not None), default=0.0))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" {FONT}>',
        f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value, text) in enumerate(zip(labels, values, shown, strict=True)):
        y = top + i * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
        )
        length = 0.0 if value is None else bar_w * value / scale
        if length > 0:
            parts.append(
                f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row_h - 6}" '
                f'fill="{COLOURS[0]}"/>'
            )
        parts.append(f'<text x="{label_w + length + 6:.1f}" y="{y + 15}">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def lines(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    unit: float = 60.0,
    unit_name: str = "hours",
) -> str:
    """One line per series over `x_labels`; values are divided by `unit` on the axis."""
    left, right, top, bottom = 48, 16, 44, 40
    plot_w, plot_h = max(60 * len(x_labels), 240), 200
    width, height = left + plot_w + right, top + plot_h + bottom
    known = [v / unit for _, vs in series for v in vs if v is not None]
    scale = _nice_max(max(known, default=0.0))
    step = plot_w / max(len(x_labels), 1)

    def x(i: int) -> float:
        return left + step * (i + 0.5)

    def y(v: float) -> float:
        return top + plot_h - plot_h * (v / unit) / scale

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" {FONT}>',
        f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in range(5):
        value = scale * tick / 4
        ty = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{left + plot_w}" y2="{ty:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end">{value:g}</text>'
        )
    parts.append(f'<text x="4" y="{top - 8}" font-size="11">{escape(unit_name)}</text>')
    for i, label in enumerate(x_labels):
        parts.append(
            f'<text x="{x(i):.1f}" y="{top + plot_h + 18}" text-anchor="middle" '
            f'font-size="11">{escape(label)}</text>'
        )
    for n, (name, values) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        run: list[str] = []
        for i, v in enumerate([*values, None]):
            if v is not None:
                run.append(f"{x(i):.1f},{y(v):.1f}")
                parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>')
                continue
            if len(run) > 1:  # a withheld month breaks the line
                parts.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                    'stroke-width="2"/>'
                )
            run = []
        lx = left + 140 * n
        parts.append(
            f'<rect x="{lx}" y="24" width="12" height="12" fill="{colour}"/>'
            f'<text x="{lx + 18}" y="34">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
