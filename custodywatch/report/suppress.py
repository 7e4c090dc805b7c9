"""Small-number suppression for reports distributed outside the force.

- Primary: a count of 1 to 4 is shown as "<5" (0 is shown: it identifies no one).
- Secondary: wherever a `Sum` would let a reader work a withheld count out
  (a visible total with exactly one withheld part, or a withheld total whose parts
  are all visible), one more count is withheld, shown as "*": the smallest
  non-zero visible part, else the total. This repeats until no sum reveals
  anything, so it also follows totals that are parts of larger totals.
- Derived: a share or a change (what-if) is withheld when either of its counts
  is; a mean or median over 1 to 4 episodes is withheld.
- Tables of single pseudonymous episodes (longest holds, repeat detentions)
  hold no counts of people and are not suppressed.
"""

from __future__ import annotations

from custodywatch.report.model import (
    NOTHING_WITHHELD,
    Change,
    Coord,
    Count,
    Duration,
    Share,
    Sum,
    Table,
    Withheld,
)

SMALL = range(1, 5)


def _count(table: Table, coord: Coord) -> int:
    cell = table.at(coord)
    if not isinstance(cell, Count):
        raise TypeError(f"{table.id}: a sum refers to {coord}, which is not a count")
    return cell.n


def _one_more(table: Table, s: Sum, hidden: set[Coord]) -> Coord | None:
    """The cell to withhold so that `s` reveals nothing, or None if it reveals nothing."""
    hidden_parts = [p for p in s.parts if p in hidden]
    visible = [p for p in s.parts if p not in hidden and _count(table, p) > 0]
    if s.total in hidden:
        if hidden_parts or not visible:
            return None
        return min(visible, key=lambda p: (_count(table, p), p))
    if len(hidden_parts) != 1:
        return None
    if visible:
        return min(visible, key=lambda p: (_count(table, p), p))
    return s.total


def withhold(table: Table) -> Withheld:
    if table.individual:
        return NOTHING_WITHHELD
    primary: set[Coord] = set()
    derived: set[Coord] = set()
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            if isinstance(cell, Count) and cell.n in SMALL:
                primary.add((r, c))
            elif isinstance(cell, Duration) and cell.base in SMALL:
                derived.add((r, c))
    hidden = set(primary)
    secondary: set[Coord] = set()
    changed = True
    while changed:
        changed = False
        for s in table.sums:
            pick = _one_more(table, s, hidden)
            if pick is not None:
                hidden.add(pick)
                secondary.add(pick)
                changed = True
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            if isinstance(cell, Share):
                inputs = (cell.part, cell.whole)
            elif isinstance(cell, Change):
                inputs = (cell.base, cell.new)
            else:
                continue
            if inputs[0] in hidden or inputs[1] in hidden:
                derived.add((r, c))
    return Withheld(frozenset(primary), frozenset(secondary), frozenset(derived))
