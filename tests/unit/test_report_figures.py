"""A monthly report's headline figures: the report's own cells, suppressed the same way,
in the same order whatever the month holds."""

from __future__ import annotations

from datetime import date

from report_builders import alert, report, summary

from custodywatch.report.figures import HEADLINE, headline_figures
from custodywatch.report.model import ReportQuery

BIRMINGHAM_APRIL = ReportQuery(
    start=date(2025, 4, 1), end=date(2025, 4, 30), local_authority="birmingham"
)


def values(figures: object) -> dict[str, str]:
    return {f.key: f.value for f in figures}  # type: ignore[attr-defined]


def test_figures_are_the_reports_cells_with_small_numbers_withheld() -> None:
    episodes = [summary(f"CR{n}", t0=f"2025-04-{n + 1:02d}T10:00:00Z", hours=4) for n in range(6)]
    episodes += [summary("CR9", t0="2025-04-20T10:00:00Z", hours=7)]  # one breach
    episodes += [summary("CR10", la="dudley", hours=9)]  # another LA: not in this report
    figures = values(headline_figures(report(episodes, [alert("CR9")], BIRMINGHAM_APRIL)))
    assert figures["key_figures/children"] == "7"
    assert figures["distinct_children/children"] == "7"
    assert figures["guideline/ended"] == "7"
    assert figures["guideline/breached"] == "<5"  # one child: withheld
    assert figures["alerts_by_la/all"] == "<5"
    unsuppressed = ReportQuery(
        start=date(2025, 4, 1), end=date(2025, 4, 30), local_authority="birmingham", suppress=False
    )
    internal = values(headline_figures(report(episodes, [alert("CR9")], unsuppressed)))
    assert internal["guideline/breached"] == "1"
    assert internal["alerts_by_la/all"] == "1"


def test_the_same_figures_in_the_same_order_for_an_empty_month() -> None:
    empty = headline_figures(report([], [], BIRMINGHAM_APRIL))
    remanded = summary("CR1", charged_h=2, bail_refused_h=3, requests=[(4, "non_secure")])
    busy = headline_figures(report([remanded], [], BIRMINGHAM_APRIL))
    expected = [f"{table}/{row}" for table, row, _, _ in HEADLINE]
    assert [f.key for f in empty] == expected == [f.key for f in busy]
    assert values(empty)["key_figures/children"] == "0"
    assert values(empty)["funnel/remanded"] == "0"
    assert values(busy)["funnel/remanded"] == "<5"
