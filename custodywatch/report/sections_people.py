"""The longest holds and the children detained more than once, by pseudonymous
reference only (no names, no custody record numbers)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from custodywatch.report.cells import hhmm
from custodywatch.report.facts import Facts
from custodywatch.report.model import Row, Section, Table, Text


def _when(f: Facts) -> str:
    return f"{f.local_t0:%Y-%m-%d %H:%M}"


def longest(children: Sequence[Facts], limit: int) -> Table:
    ended = [f for f in children if f.minutes is not None]
    ended.sort(key=lambda f: (-(f.minutes or 0.0), f.summary.person_ref, f.t0))
    rows = []
    for rank, f in enumerate(ended[:limit], start=1):
        s = f.summary
        cells = (
            Text(s.person_ref),
            Text(_when(f)),
            Text(f.booking_suite),
            Text(s.home_local_authority),
            Text(s.age_band),
            Text(hhmm(f.minutes or 0.0)),
            Text("yes" if s.charged_at else "no"),
            Text((s.end or "").replace("_", " ")),
        )
        rows.append(Row(str(rank), str(rank), cells))
    headers = ("Person", "T0", "Suite", "Home LA", "Age band", "Held", "Charged", "Ended")
    notes = ("Ended detentions of children, longest first.",)
    return Table(
        "longest_holds", "Longest holds", headers, tuple(rows), notes=notes, individual=True
    )


def repeats(children: Sequence[Facts], limit: int) -> Table:
    by_person: dict[str, list[Facts]] = defaultdict(list)
    for f in children:
        by_person[f.summary.person_ref].append(f)
    repeated = [(ref, eps) for ref, eps in by_person.items() if len(eps) > 1]

    def held(eps: list[Facts]) -> float:
        return sum(f.minutes or 0.0 for f in eps)

    repeated.sort(key=lambda item: (-len(item[1]), -held(item[1]), item[0]))
    rows = []
    for rank, (ref, eps) in enumerate(repeated[:limit], start=1):
        cells = (
            Text(ref),
            Text(str(len(eps))),
            Text(hhmm(held(eps))),
            Text(_when(eps[0])),
            Text(_when(eps[-1])),
            Text(", ".join(sorted({f.booking_suite for f in eps}))),
        )
        rows.append(Row(str(rank), str(rank), cells))
    headers = ("Person", "Detentions", "Total held", "First T0", "Last T0", "Suites")
    notes = (
        f"Children detained more than once in the period, up to {limit}, most often first "
        "(how many there were in all is in the key figures).",
    )
    return Table(
        "repeat_detentions", "Repeat detentions", headers, tuple(rows), notes=notes, individual=True
    )


def section(children: Sequence[Facts], limit: int) -> Section:
    return Section(
        "people",
        "Longest holds and repeat detentions",
        (longest(children, limit), repeats(children, limit)),
        ("Children are identified only by their pseudonymous reference.",),
    )
