"""A cell as renderers show it: text for tables and CSV, a number for charts."""

from __future__ import annotations

from custodywatch.report.model import (
    Change,
    Coord,
    Count,
    Duration,
    Share,
    Table,
    Text,
    Withheld,
)

PRIMARY_MARK = "<5"
SECONDARY_MARK = "*"
NONE_MARK = "-"
"""No episodes to compute a mean, median or share from."""


def hhmm(minutes: float) -> str:
    whole = round(minutes)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def _share(table: Table, cell: Share) -> float | None:
    part, whole = table.at(cell.part), table.at(cell.whole)
    if not isinstance(part, Count) or not isinstance(whole, Count):
        raise TypeError(f"{table.id}: a share refers to cells that are not counts")
    return None if whole.n == 0 else 100 * part.n / whole.n


def _change(table: Table, cell: Change) -> int:
    base, new = table.at(cell.base), table.at(cell.new)
    if not isinstance(base, Count) or not isinstance(new, Count):
        raise TypeError(f"{table.id}: a change refers to cells that are not counts")
    return new.n - base.n


def text(table: Table, coord: Coord, withheld: Withheld, plain: bool = False) -> str:
    """`plain`: counts without thousands separators (CSV)."""
    if coord in withheld.primary:
        return PRIMARY_MARK
    if coord in withheld.secondary or coord in withheld.derived:
        return SECONDARY_MARK
    cell = table.at(coord)
    if isinstance(cell, Count):
        return str(cell.n) if plain else f"{cell.n:,}"
    if isinstance(cell, Duration):
        return NONE_MARK if cell.minutes is None else hhmm(cell.minutes)
    if isinstance(cell, Share):
        share = _share(table, cell)
        return NONE_MARK if share is None else f"{share:.1f}%"
    if isinstance(cell, Change):
        delta = _change(table, cell)
        if delta == 0:
            return "0"
        return f"{delta:+}" if plain else f"{delta:+,}"
    assert isinstance(cell, Text)
    return cell.text


def value(table: Table, coord: Coord, withheld: Withheld) -> float | None:
    """The number a chart draws (minutes for durations), None when withheld or empty."""
    if withheld.hides(coord):
        return None
    cell = table.at(coord)
    if isinstance(cell, Count):
        return float(cell.n)
    if isinstance(cell, Duration):
        return cell.minutes
    if isinstance(cell, Share):
        return _share(table, cell)
    if isinstance(cell, Change):
        return float(_change(table, cell))
    return None
