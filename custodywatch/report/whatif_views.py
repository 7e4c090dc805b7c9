"""The tables a what-if shows, and its headline, as views of its one `detail` table.

Each view cell copies a cell of `detail`, and is withheld exactly as that cell is,
so a count never shows in one table while another withholds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from custodywatch.report import cells
from custodywatch.report.model import Cell, Change, Chart, Coord, Count, Row, Table, Withheld
from custodywatch.report.whatif import (
    ALERTS,
    ALL,
    CHILDREN,
    COLUMNS,
    TOTAL,
    WhatIf,
    changed_label,
    measure_label,
)

SUPPRESSED = (
    "Small numbers suppressed, for distribution: counts of 1 to 4 are shown as <5, and "
    "counts that would reveal them as *; a difference is shown only when both of its "
    "counts are."
)
NOT_SUPPRESSED = "Small numbers NOT suppressed: internal use only."


@dataclass(frozen=True, slots=True)
class View:
    table: Table
    withheld: Withheld


@dataclass(frozen=True, slots=True)
class _Line:
    key: str
    label: str
    sources: tuple[Coord, ...]
    """Cells of `detail`. A difference must come after its two counts (in its row or
    above), so that it can refer to them in the view."""
    level: int = 0


def _view(
    w: WhatIf,
    table_id: str,
    title: str,
    columns: Sequence[str],
    lines: Sequence[_Line],
    chart: Chart | None = None,
) -> View:
    rows: list[Row] = []
    placed: dict[Coord, Coord] = {}
    primary: set[Coord] = set()
    secondary: set[Coord] = set()
    derived: set[Coord] = set()
    for r, line in enumerate(lines):
        row_cells: list[Cell] = []
        for c, source in enumerate(line.sources):
            cell = w.detail.at(source)
            placed[source] = (r, c)
            if isinstance(cell, Change):
                row_cells.append(Change(placed[cell.base], placed[cell.new]))
            else:
                assert isinstance(cell, Count)
                row_cells.append(cell)
            for kind, hidden in (
                (primary, w.withheld.primary),
                (secondary, w.withheld.secondary),
                (derived, w.withheld.derived),
            ):
                if source in hidden:
                    kind.add((r, c))
        rows.append(Row(line.key, line.label, tuple(row_cells), line.level))
    table = Table(table_id, title, tuple(columns), tuple(rows), chart=chart)
    return View(table, Withheld(frozenset(primary), frozenset(secondary), frozenset(derived)))


def _triple(w: WhatIf, scope: str, period: str, measure: str) -> tuple[Coord, ...]:
    return tuple(w.coord(scope, period, measure, c) for c in range(3))


def scope_of(w: WhatIf) -> str:
    """The scope of the headline: the one LA asked for, else all LAs."""
    return w.scopes[-1] if w.query.local_authority is not None else ALL


def period_text(w: WhatIf) -> str:
    if w.start is None or w.end is None:
        return "over the whole file"
    return f"{w.start.day} {w.start:%B %Y} to {w.end.day} {w.end:%B %Y}"


def _measures(w: WhatIf) -> list[str]:
    return list(dict.fromkeys((*w.headline_measures(), CHILDREN, ALERTS)))


def period_view(w: WhatIf) -> View:
    scope = scope_of(w)
    lines = [
        _Line(m, measure_label(m, w.query.governed), _triple(w, scope, TOTAL, m))
        for m in _measures(w)
    ]
    lines += [_Line(k, measure_label(k, None), _triple(w, scope, TOTAL, k), 1) for k in w.rule_keys]
    where = "all local authorities" if scope == ALL else f"home local authority {scope}"
    title = f"Whole period, {where}: current rules against what-if"
    return _view(w, "whatif_period", title, COLUMNS, lines)


def monthly_view(w: WhatIf) -> View:
    """Children alerted by the changed rules, months across as the force publishes, with
    the chart (the legend takes the short row labels; alerts by month are in by_la)."""
    scope, (children, _) = scope_of(w), w.headline_measures()
    periods = [*w.months, TOTAL]
    lines = [
        _Line(f"{children}_{c}", name, tuple(w.coord(scope, p, children, c) for p in periods))
        for c, name in enumerate(("Current rules", "What-if", "Difference"))
    ]
    what = measure_label(children, w.query.governed)
    chart = Chart(
        "line",
        rows=(0, 1),
        columns=tuple(range(len(w.months))),
        title=f"{what}, by month of T0",
        unit=1.0,
        unit_name="children",
    )
    title = f"{what}, by month: current rules against what-if"
    return _view(w, "whatif_monthly", title, [*w.months, "Total"], lines, chart)


def by_la_view(w: WhatIf) -> View:
    children, alerts = w.headline_measures()
    named = [(children, "Children alerted"), (alerts, "Alerts"), (ALERTS, "All alerts")]
    groups = named if w.query.governed is not None else [named[0], named[2]]
    columns = [f"{name}, {c.lower()}" for _, name in groups for c in COLUMNS]
    lines = []
    for scope in w.scopes:
        name = "All local authorities" if scope == ALL else scope
        for period in (TOTAL, *w.months):
            sources = tuple(s for m, _ in groups for s in _triple(w, scope, period, m))
            label = name if period == TOTAL else period
            lines.append(_Line(f"{scope}|{period}", label, sources, int(period != TOTAL)))
    what = changed_label(w.query.governed)
    title = f"By home local authority and month ({what}; all alerts)"
    return _view(w, "whatif_by_la", title, columns, lines)


def views(w: WhatIf) -> tuple[View, ...]:
    return period_view(w), monthly_view(w), by_la_view(w)


def _shown(w: WhatIf, coord: Coord) -> str:
    return cells.text(w.detail, coord, w.withheld)


def headline(w: WhatIf) -> tuple[str, str]:
    """The answer first: children, then alerts, of the changed rules, current against
    what-if, for the whole period and scope."""
    scope, (children, alerts) = scope_of(w), w.headline_measures()
    settings = ", ".join(map(str, w.query.settings))
    current = ", ".join(
        f"{s.key}={v}" for s, v in zip(w.query.settings, w.query.current_values, strict=True)
    )
    where = "" if scope == ALL else f", home local authority {scope}"
    c, n, d = (_shown(w, w.coord(scope, TOTAL, children, i)) for i in range(3))
    first = (
        f"{measure_label(children, w.query.governed)}, {period_text(w)}{where}: "
        f"{n} with {settings}, against {c} under the current rules ({current}): {d}."
    )
    c, n, d = (_shown(w, w.coord(scope, TOTAL, alerts, i)) for i in range(3))
    second = f"{measure_label(alerts, w.query.governed)}: {n} with {settings}, against {c}: {d}."
    return first, second


def definitions(w: WhatIf) -> tuple[str, ...]:
    return (
        SUPPRESSED if w.query.suppress else NOT_SUPPRESSED,
        "Both columns replay the whole events file: Current under the current rules, "
        "What-if under the same rules with "
        + ", ".join(map(str, w.query.settings))
        + ". Difference = What-if minus Current.",
        "Alerts that stand: raised (perhaps since resolved), not retracted; each stage and "
        "each instance (a review, a night) is one alert.",
        "An alert counts with its detention: in the month of the detention's T0 (local "
        "time) and the child's home local authority, as in the safeguarding report; the "
        "period selects detentions by the date of T0, inclusive.",
        "Children alerted: different children (by pseudonymous reference) with at least one "
        "such alert. A child counts once per month and once in a period's total, so children "
        "do not add up across months; alerts do.",
        f"Changed rules: {changed_label(w.query.governed)}: the alerts the changed settings "
        "govern (a setting of who is a child governs every alert).",
    )
