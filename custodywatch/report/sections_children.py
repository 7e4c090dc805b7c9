"""Which children were detained (age band, sex, suite, home LA, looked-after),
how many at the suites designed for children, and who was held overnight."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from custodywatch.core.config import RuleConfig
from custodywatch.report.facts import Facts
from custodywatch.report.model import Chart, Row, Section, Share, Table
from custodywatch.report.tables import Line, Split, breakdown, grid

AGE_BANDS = ("under 10", "10-13", "14-15", "16-17", "18 and over", "unknown")
NOT_RECORDED = "not recorded"


def _looked_after(f: Facts) -> str:
    value = f.summary.looked_after_child
    return NOT_RECORDED if value is None else ("yes" if value else "no")


def childrens_suites_table(children: Sequence[Facts], suites: Sequence[str]) -> Table:
    counts: Counter[tuple[str, str]] = Counter()
    for f in children:
        suite = f.booking_suite
        counts["all", "Children"] += 1
        counts["at" if suite in suites else "elsewhere", "Children"] += 1
        if suite in suites:
            counts[f"suite:{suite}", "Children"] += 1
    lines = (
        Line("all", "Children detained"),
        Line("at", "at a suite designed for children", 1),
        *(Line(f"suite:{s}", s, 2) for s in suites),
        Line("elsewhere", "at another suite", 1),
    )
    table = grid(
        "childrens_suites",
        "Children held at the suites designed for children",
        lines,
        ["Children"],
        counts,
        [Split("all", ("at", "elsewhere")), Split("at", tuple(f"suite:{s}" for s in suites))],
        total_column=False,
        notes=(f"Suites designed for children: {', '.join(suites)}.",),
    )
    rows = tuple(
        Row(r.key, r.label, (*r.cells, Share((i, 0), (0, 0))), r.level)
        for i, r in enumerate(table.rows)
    )
    return Table(table.id, table.title, ("Children", "Share"), rows, table.sums, table.notes)


def overnight_table(children: Sequence[Facts], rules: RuleConfig) -> Table:
    window = f"{rules.overnight.window_start:%H:%M}-{rules.overnight.window_end:%H:%M}"
    bands = [b for b in AGE_BANDS if any(f.summary.age_band == b for f in children)]
    counts: Counter[tuple[str, str]] = Counter()
    for f in children:
        band = f.summary.age_band
        nights = f.summary.nights
        counts["children", band] += 1
        if not nights:
            counts["not_overnight", band] += 1
            continue
        counts["overnight", band] += 1
        counts["first_pre" if nights[0].pre_charge else "first_post", band] += 1
        for night in nights:
            counts["nights", band] += 1
            counts["nights_pre" if night.pre_charge else "nights_post", band] += 1
    lines = (
        Line("children", "Children detained"),
        Line("overnight", f"held overnight ({window})", 1),
        Line("first_pre", "first night before charge", 2),
        Line("first_post", "first night after charge", 2),
        Line("not_overnight", "not held overnight", 1),
        Line("nights", "Nights in custody"),
        Line("nights_pre", "before charge", 1),
        Line("nights_post", "after charge", 1),
    )
    return grid(
        "overnight",
        "Overnight detentions of children, by age band",
        lines,
        bands,
        counts,
        [
            Split("children", ("overnight", "not_overnight")),
            Split("overnight", ("first_pre", "first_post")),
            Split("nights", ("nights_pre", "nights_post")),
        ],
        notes=(
            f"Overnight: held at any time between {window} local time (the rules' night window); "
            "other definitions exist (the Met counts 4+ consecutive hours between 00:00 and 08:00).",
            "Before charge: not yet charged when the night's window began (or at T0 if later).",
        ),
        chart=Chart("bars", rows=(2, 3), column=len(bands), title="Children held overnight"),
    )


def section(children: Sequence[Facts], rules: RuleConfig, suites: Sequence[str]) -> Section:
    def count(key: str) -> Counter[str]:
        return Counter(key_of[key](f) for f in children)

    key_of: dict[str, Callable[[Facts], str]] = {
        "age": lambda f: f.summary.age_band,
        "sex": lambda f: f.summary.sex or NOT_RECORDED,
        "suite": lambda f: f.booking_suite,
        "la": lambda f: f.summary.home_local_authority,
        "lac": _looked_after,
    }
    return Section(
        "children",
        "Children detained",
        (
            breakdown("children_by_age", "Children by age band at T0", count("age"), AGE_BANDS),
            breakdown("children_by_sex", "Children by sex", count("sex"), ()),
            breakdown("children_by_suite", "Children by suite of T0", count("suite"), ()),
            breakdown("children_by_la", "Children by home local authority", count("la"), ()),
            breakdown(
                "children_by_looked_after",
                "Children by looked-after status",
                count("lac"),
                ("yes", "no", NOT_RECORDED),
            ),
            childrens_suites_table(children, suites),
            overnight_table(children, rules),
        ),
    )
