"""Building blocks for report tables: breakdowns with a total, grids with totals
both ways, and the `Sum`s that make their additivity explicit for suppression."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from custodywatch.report.model import Cell, Chart, Count, Duration, Row, Share, Sum, Table

TOTAL = "Total"


@dataclass(frozen=True, slots=True)
class Line:
    """A row of a grid: `key`, `label`, indentation level."""

    key: str
    label: str
    level: int = 0


@dataclass(frozen=True, slots=True)
class Split:
    """Row `total` is the sum of rows `parts` (by key), in every column."""

    total: str
    parts: tuple[str, ...]


def median_minutes(values: Sequence[float]) -> Duration:
    return Duration(statistics.median(values) if values else None, len(values))


def mean_minutes(values: Sequence[float]) -> Duration:
    return Duration(sum(values) / len(values) if values else None, len(values))


def grid(
    table_id: str,
    title: str,
    lines: Sequence[Line],
    columns: Sequence[str],
    counts: Mapping[tuple[str, str], int],
    splits: Iterable[Split] = (),
    total_column: bool = True,
    notes: tuple[str, ...] = (),
    chart: Chart | None = None,
) -> Table:
    """Counts by (row key, column); with `total_column`, a last column adding the others."""
    headers = (*columns, TOTAL) if total_column else tuple(columns)
    rows = []
    for line in lines:
        cells: list[Cell] = [Count(counts.get((line.key, c), 0)) for c in columns]
        if total_column:
            cells.append(Count(sum(counts.get((line.key, c), 0) for c in columns)))
        rows.append(Row(line.key, line.label, tuple(cells), line.level))
    index = {line.key: i for i, line in enumerate(lines)}
    sums = [
        Sum((index[s.total], c), tuple((index[p], c) for p in s.parts))
        for s in splits
        for c in range(len(headers))
    ]
    if total_column:
        last = len(columns)
        sums += [
            Sum((r, last), tuple((r, c) for c in range(len(columns)))) for r in range(len(lines))
        ]
    return Table(table_id, title, headers, tuple(rows), tuple(sums), notes, chart)


def breakdown(
    table_id: str,
    title: str,
    counted: Counter[str],
    order: Sequence[str],
    labels: Mapping[str, str] | None = None,
    header: str = "Children",
    notes: tuple[str, ...] = (),
) -> Table:
    """One count per category, a total, and each category's share of the total."""
    labels = labels or {}
    keys = [k for k in order if k in counted] + sorted(k for k in counted if k not in order)
    total_row = len(keys)
    rows = [
        Row(k, labels.get(k, k), (Count(counted[k]), Share((i, 0), (total_row, 0))))
        for i, k in enumerate(keys)
    ]
    rows.append(
        Row("total", TOTAL, (Count(sum(counted.values())), Share((total_row, 0), (total_row, 0))))
    )
    sums = (Sum((total_row, 0), tuple((i, 0) for i in range(len(keys)))),)
    chart = Chart("bars", rows=tuple(range(len(keys))), column=0, title=title)
    return Table(table_id, title, (header, "Share"), tuple(rows), sums, notes, chart)
