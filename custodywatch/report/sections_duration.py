"""Key figures and how long people were held: the force's published monthly table
(months across, children and adults), the distribution of time held and the
six-hour guideline."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from functools import cache

from custodywatch.core.config import RuleConfig
from custodywatch.report.facts import Facts
from custodywatch.report.model import Chart, Count, Row, Section, Share, Sum, Table, Text
from custodywatch.report.tables import TOTAL, Line, Split, grid, mean_minutes

PERIOD = "Period"
BANDS: tuple[tuple[str, str, float], ...] = (
    ("under_6h", "under 6 hours", 6 * 60),
    ("6_12h", "6 to 12 hours", 12 * 60),
    ("12_24h", "12 to 24 hours", 24 * 60),
    ("over_24h", "24 hours or more", float("inf")),
)


@cache  # called per detention; a period has a few dozen months
def month_label(month: str) -> str:
    """'2025-04' -> 'Apr 2025'."""
    return date(int(month[:4]), int(month[5:]), 1).strftime("%b %Y")


def key_figures(episodes: Sequence[Facts], childrens_suites: frozenset[str]) -> Table:
    children = [f for f in episodes if f.summary.juvenile]
    at_suites = sum(f.booking_suite in childrens_suites for f in children)
    rows = (
        Row("detentions", "Detentions (all ages)", (Count(len(episodes)), Text(""))),
        Row("adults", "adults", (Count(len(episodes) - len(children)), Text("")), 1),
        Row("children", "children (under 18)", (Count(len(children)), Share((2, 0), (0, 0))), 1),
        Row(
            "childrens_suites",
            "children held at a children's suite",
            (Count(at_suites), Share((3, 0), (2, 0))),
            2,
        ),
        Row(
            "other_suites",
            "children held at another suite",
            (Count(len(children) - at_suites), Share((4, 0), (2, 0))),
            2,
        ),
        Row(
            "child_mean",
            "Mean detention, children",
            (mean_minutes([m for f in children if (m := f.minutes) is not None]), Text("")),
        ),
        Row(
            "adult_mean",
            "Mean detention, adults",
            (
                mean_minutes(
                    [m for f in episodes if not f.summary.juvenile and (m := f.minutes) is not None]
                ),
                Text(""),
            ),
        ),
        Row(
            "local_authorities",
            "Home local authorities",
            (Text(str(len({f.summary.home_local_authority for f in episodes}))), Text("")),
        ),
    )
    sums = (
        Sum((0, 0), ((1, 0), (2, 0))),
        Sum((2, 0), ((3, 0), (4, 0))),
    )
    return Table("key_figures", "Key figures", ("Number", "Share"), rows, sums)


def distinct_children(episodes: Sequence[Facts]) -> Table:
    refs = Counter(f.summary.person_ref for f in episodes if f.summary.juvenile)
    repeated = sum(n > 1 for n in refs.values())
    rows = (
        Row("children", "Different children detained", (Count(len(refs)), Share((0, 0), (0, 0)))),
        Row("once", "detained once", (Count(len(refs) - repeated), Share((1, 0), (0, 0))), 1),
        Row("repeat", "detained more than once", (Count(repeated), Share((2, 0), (0, 0))), 1),
    )
    return Table(
        "distinct_children",
        "Different children (by pseudonymous reference)",
        ("Children", "Share"),
        rows,
        (Sum((0, 0), ((1, 0), (2, 0))),),
    )


def monthly_means(episodes: Sequence[Facts], months: Sequence[str]) -> Table:
    """The force's published layout: months across, one row of means for each age group."""
    rows = []
    for key, label, juvenile in (("children", "Children", True), ("adults", "Adults", False)):
        by_month: dict[str, list[float]] = {m: [] for m in months}
        for f in episodes:
            if f.summary.juvenile is juvenile and (m := f.minutes) is not None:
                by_month.setdefault(f.month, []).append(m)
        cells = [mean_minutes(by_month[m]) for m in months]
        cells.append(mean_minutes([v for m in months for v in by_month[m]]))
        rows.append(Row(key, label, tuple(cells)))
    headers = (*(month_label(m) for m in months), PERIOD)
    chart = Chart(
        "line",
        rows=(0, 1),
        columns=tuple(range(len(months))),
        title="Mean detention by month of T0 (hours)",
    )
    notes = ("Means of ended detentions, by calendar month of T0; hh:mm.",)
    return Table("monthly_mean", "Mean detention length", headers, tuple(rows), (), notes, chart)


def monthly_counts(episodes: Sequence[Facts], months: Sequence[str]) -> Table:
    counts: Counter[tuple[str, str]] = Counter()
    for f in episodes:
        counts["children" if f.summary.juvenile else "adults", month_label(f.month)] += 1
        counts["all", month_label(f.month)] += 1
    lines = (
        Line("all", "All detentions"),
        Line("children", "children", 1),
        Line("adults", "adults", 1),
    )
    table = grid(
        "monthly_detentions",
        "Detentions by month of T0",
        lines,
        [month_label(m) for m in months],
        counts,
        [Split("all", ("children", "adults"))],
    )
    return _rename_total(table)


def _rename_total(table: Table) -> Table:
    """Months across end in the whole period, as in the published table."""
    headers = tuple(PERIOD if h == TOTAL else h for h in table.columns)
    return Table(table.id, table.title, headers, table.rows, table.sums, table.notes, table.chart)


def _band(minutes: float) -> str:
    return next(key for key, _, below in BANDS if minutes < below)


def time_held(episodes: Sequence[Facts]) -> Table:
    counts: Counter[tuple[str, str]] = Counter()
    for f in episodes:
        column = "Children" if f.summary.juvenile else "Adults"
        m = f.minutes
        if m is None:
            counts["open", column] += 1
        else:
            counts["ended", column] += 1
            counts[_band(m), column] += 1
        counts["all", column] += 1
    lines = (
        Line("all", "All detentions"),
        Line("ended", "detention ended", 1),
        *(Line(key, label, 2) for key, label, _ in BANDS),
        Line("open", "still in custody at the end of the data", 1),
    )
    return grid(
        "time_held",
        "Distribution of time held",
        lines,
        ["Children", "Adults"],
        counts,
        [Split("all", ("ended", "open")), Split("ended", tuple(k for k, _, _ in BANDS))],
        notes=("Bands include their lower bound: 6 to 12 hours is 6h00 up to 11h59.",),
        chart=Chart("bars", rows=(2, 3, 4, 5), column=0, title="Children by time held"),
    )


def guideline(episodes: Sequence[Facts], months: Sequence[str], rules: RuleConfig) -> Table:
    limit = rules.detention_duration.breach / 60_000_000  # minutes
    counts: Counter[tuple[str, str]] = Counter()
    for f in episodes:
        if not f.summary.juvenile or (m := f.minutes) is None:
            continue
        counts["ended", month_label(f.month)] += 1
        counts["breached" if m > limit else "within", month_label(f.month)] += 1
    hours = f"{limit / 60:g}"
    lines = (
        Line("ended", "Children, detention ended"),
        Line("within", f"held {hours} hours or less", 1),
        Line("breached", f"held longer than {hours} hours (guideline breached)", 1),
    )
    table = _rename_total(
        grid(
            "guideline",
            f"The {hours}-hour guideline (local policy)",
            lines,
            [month_label(m) for m in months],
            counts,
            [Split("ended", ("within", "breached"))],
        )
    )
    share = Row(
        "breached_share",
        "share breached",
        tuple(Share((2, c), (0, c)) for c in range(len(table.columns))),
        1,
    )
    return Table(table.id, table.title, table.columns, (*table.rows, share), table.sums)


def section(
    episodes: Sequence[Facts],
    months: Sequence[str],
    rules: RuleConfig,
    childrens_suites: frozenset[str],
) -> Section:
    return Section(
        "detention",
        "Detentions and how long they lasted",
        (
            key_figures(episodes, childrens_suites),
            distinct_children(episodes),
            monthly_means(episodes, months),
            monthly_counts(episodes, months),
            time_held(episodes),
            guideline(episodes, months, rules),
        ),
    )
