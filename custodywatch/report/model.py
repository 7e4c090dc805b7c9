"""What a report is made of: cells, rows, tables with their additive relations, sections.

Tables keep raw numbers; suppression (`suppress`) decides which cells are withheld
and `cells` turns a cell into the text or number a renderer shows. A `Sum` says
which cells add up to which total, so secondary suppression can see what a total
would reveal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

Coord = tuple[int, int]
"""(row index, column index) of a value cell in a table."""


@dataclass(frozen=True, slots=True)
class Count:
    """A number of episodes, children, alerts or nights: suppressed when 1-4."""

    n: int


@dataclass(frozen=True, slots=True)
class Duration:
    """A mean or median length in minutes over `base` episodes (None when base is 0).

    Suppressed when the base is 1-4: a mean of one child is that child's time."""

    minutes: float | None
    base: int


@dataclass(frozen=True, slots=True)
class Share:
    """The Count at `part` as a percentage of the Count at `whole` (same table).

    Withheld whenever either count is."""

    part: Coord
    whole: Coord


@dataclass(frozen=True, slots=True)
class Change:
    """The Count at `new` minus the Count at `base` (same table), signed: what-if tables.

    Withheld whenever either count is."""

    base: Coord
    new: Coord


@dataclass(frozen=True, slots=True)
class Text:
    """A label or a fact about one pseudonymous episode; never suppressed."""

    text: str


Cell = Count | Duration | Share | Change | Text


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    """Stable identifier (tests and CSV readers use it; labels may be reworded)."""
    label: str
    cells: tuple[Cell, ...]
    level: int = 0
    """0 for a top line, 1 for 'of which', 2 for 'of which, of which'."""


@dataclass(frozen=True, slots=True)
class Sum:
    """The count at `total` equals the sum of the counts at `parts`."""

    total: Coord
    parts: tuple[Coord, ...]


@dataclass(frozen=True, slots=True)
class Chart:
    """How a table is drawn.

    - `line`: one line per row in `rows`, over the columns in `columns` (months across);
    - `bars`: one horizontal bar per row in `rows`, the values of column `column`.
    """

    kind: Literal["line", "bars"]
    rows: tuple[int, ...]
    columns: tuple[int, ...] = ()
    column: int = 0
    title: str = ""
    unit: float = 60.0
    """Line charts: values are divided by `unit` on the axis (minutes -> hours)."""
    unit_name: str = "hours"


@dataclass(frozen=True, slots=True)
class Table:
    id: str
    """File-name-safe identifier, e.g. 'funnel' (the CSV is `<id>.csv`)."""
    title: str
    columns: tuple[str, ...]
    """Headers of the value columns; the row labels form an unnamed first column."""
    rows: tuple[Row, ...]
    sums: tuple[Sum, ...] = ()
    notes: tuple[str, ...] = ()
    chart: Chart | None = None
    individual: bool = False
    """Rows are single pseudonymous episodes or people (longest holds, repeats)."""

    def at(self, coord: Coord) -> Cell:
        return self.rows[coord[0]].cells[coord[1]]

    def row(self, key: str) -> int:
        for index, row in enumerate(self.rows):
            if row.key == key:
                return index
        raise KeyError(f"{self.id} has no row {key!r}")

    def column(self, header: str) -> int:
        return self.columns.index(header)

    def cell(self, row_key: str, header: str) -> Cell:
        return self.at((self.row(row_key), self.column(header)))


@dataclass(frozen=True, slots=True)
class Withheld:
    """Cells a table does not show: `primary` counts 1-4, `secondary` counts withheld
    so that no total reveals a primary one, `derived` shares and durations."""

    primary: frozenset[Coord] = frozenset()
    secondary: frozenset[Coord] = frozenset()
    derived: frozenset[Coord] = frozenset()

    def hides(self, coord: Coord) -> bool:
        return coord in self.primary or coord in self.secondary or coord in self.derived


NOTHING_WITHHELD = Withheld()


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    tables: tuple[Table, ...]
    intro: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """Which episodes a report covers, and how it is published."""

    start: date
    end: date
    """Inclusive: a report to 2026-01-31 covers the whole of 31 January."""
    local_authority: str | None = None
    suite: str | None = None
    childrens_suites: tuple[str, ...] = ("perry-barr", "oldbury")
    suppress: bool = True
    longest: int = 10
    """Rows in the longest-holds table (and the repeat-detentions table)."""


@dataclass(frozen=True, slots=True)
class Report:
    title: str
    query: ReportQuery
    zone: str
    """Time zone of dates, months and the period (the force's default zone)."""
    generated_at: datetime
    definitions: tuple[str, ...]
    sections: tuple[Section, ...]
    withheld: Mapping[str, Withheld] = field(default_factory=dict)
    """By table id; empty when suppression is off."""

    def tables(self) -> tuple[Table, ...]:
        return tuple(t for s in self.sections for t in s.tables)

    def table(self, table_id: str) -> Table:
        for t in self.tables():
            if t.id == table_id:
                return t
        raise KeyError(f"the report has no table {table_id!r}")

    def withheld_in(self, table_id: str) -> Withheld:
        return self.withheld.get(table_id, NOTHING_WITHHELD)
