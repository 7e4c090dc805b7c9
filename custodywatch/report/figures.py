"""A report's headline figures, as its tables show them (after suppression).

The same figures every month, in the same order, for every local authority, so
a partnership can line months and LAs up; each is a cell of a table in the
report and its CSV (`key` = `<table id>/<row key>`), shown with the same mark
when withheld.
"""

from __future__ import annotations

from custodywatch.contract.notifications import ReportFigure
from custodywatch.report import cells
from custodywatch.report.model import Report

LAST = -1
"""The table's last column: the whole period (grids end with a total)."""

HEADLINE: tuple[tuple[str, str, int, str], ...] = (
    ("key_figures", "children", 0, "Detentions of children"),
    ("distinct_children", "children", 0, "Different children detained"),
    ("key_figures", "child_mean", 0, "Mean detention length of children (hh:mm)"),
    ("guideline", "ended", LAST, "Children whose detention ended"),
    ("guideline", "breached", LAST, "of whom held longer than the six-hour guideline"),
    ("overnight", "overnight", LAST, "Children held overnight"),
    ("funnel", "remanded", LAST, "PACE s.38(6): children charged and refused bail"),
    ("funnel", "needing", LAST, "needing LA accommodation"),
    ("funnel", "transferred", LAST, "transferred to LA accommodation"),
    ("funnel", "not_transferred", LAST, "not transferred"),
    ("alerts_by_la", "all", LAST, "Welfare alerts that stand"),
)


def headline_figures(report: Report) -> tuple[ReportFigure, ...]:
    """One figure per HEADLINE entry (those rows are in every report, zero or not)."""
    out = []
    for table_id, row_key, column, label in HEADLINE:
        table = report.table(table_id)
        col = len(table.columns) - 1 if column == LAST else column
        value = cells.text(table, (table.row(row_key), col), report.withheld_in(table_id))
        out.append(ReportFigure(f"{table_id}/{row_key}", label, value))
    return tuple(out)
