"""Each report section on a handful of hand-made episodes, checked by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Literal

from report_builders import APRIL, alert, report, summary

from custodywatch.contract.episodes import EpisodeSummary
from custodywatch.report.cells import text
from custodywatch.report.facts import AlertOutcome
from custodywatch.report.model import Report

OPEN = replace(APRIL, suppress=False)
SPRING = replace(OPEN, end=date(2025, 5, 31))


def row(rep: Report, table_id: str, key: str) -> list[str]:
    table = rep.table(table_id)
    r = table.row(key)
    withheld = rep.withheld_in(table_id)
    return [text(table, (r, c), withheld) for c in range(len(table.columns))]


def test_monthly_means_children_and_adults_months_across_as_published() -> None:
    episodes = [
        summary("C1", hours=4),
        summary("C2", hours=6),
        summary("C3", hours=8),
        summary("C4", t0="2025-05-10T12:00:00Z", hours=10),
        summary("C5", hours=None),  # still held: a detention, not in the means
        summary("A1", adult=True, hours=15.5),
    ]
    rep = report(episodes, query=SPRING)
    table = rep.table("monthly_mean")
    assert table.columns == ("Apr 2025", "May 2025", "Period")
    assert row(rep, "monthly_mean", "children") == ["06:00", "10:00", "07:00"]
    assert row(rep, "monthly_mean", "adults") == ["15:30", "-", "15:30"]
    assert row(rep, "monthly_detentions", "children") == ["4", "1", "5"]
    assert row(rep, "key_figures", "detentions") == ["6", ""]
    assert row(rep, "key_figures", "children") == ["5", "83.3%"]
    suppressed = report(episodes, query=replace(SPRING, suppress=True))
    assert row(suppressed, "monthly_mean", "children") == ["*", "*", "*"]


def test_time_held_bands_include_their_lower_bound() -> None:
    hours = [5 + 59 / 60, 6, 11.99, 12, 23.9, 24, 30]
    episodes = [summary(f"C{i}", hours=h) for i, h in enumerate(hours)]
    episodes.append(summary("C9", hours=None))
    rep = report(episodes, query=OPEN)
    got = {k: row(rep, "time_held", k)[0] for k in ("under_6h", "6_12h", "12_24h", "over_24h")}
    assert got == {"under_6h": "1", "6_12h": "2", "12_24h": "2", "over_24h": "2"}
    assert row(rep, "time_held", "open") == ["1", "0", "1"]
    assert row(rep, "time_held", "all") == ["8", "0", "8"]


def test_the_guideline_is_breached_only_after_six_hours() -> None:
    episodes = [summary("C1", hours=6), summary("C2", hours=6 + 1 / 60), summary("C3", hours=2)]
    rep = report(episodes, query=OPEN)
    assert row(rep, "guideline", "within") == ["2", "2"]
    assert row(rep, "guideline", "breached") == ["1", "1"]
    assert row(rep, "guideline", "breached_share") == ["33.3%", "33.3%"]


def test_children_by_category_and_at_the_childrens_suites() -> None:
    episodes = [
        summary("C1", age_band="10-13", suite="perry-barr", looked_after=True),
        summary("C2", age_band="16-17", suite="oldbury", looked_after=None, sex=None),
        summary("C3", age_band="16-17", suite="walsall", la="walsall", sex="female"),
        summary("C4", age_band="16-17", suite="walsall", la="walsall"),
        summary("A1", adult=True, suite="walsall"),
    ]
    rep = report(episodes, query=OPEN)
    assert row(rep, "children_by_age", "16-17") == ["3", "75.0%"]
    assert row(rep, "children_by_age", "total") == ["4", "100.0%"]
    assert row(rep, "children_by_sex", "not recorded") == ["1", "25.0%"]
    assert row(rep, "children_by_la", "walsall") == ["2", "50.0%"]
    assert row(rep, "children_by_looked_after", "yes") == ["1", "25.0%"]
    assert row(rep, "children_by_looked_after", "not recorded") == ["1", "25.0%"]
    assert row(rep, "childrens_suites", "at") == ["2", "50.0%"]
    assert row(rep, "childrens_suites", "suite:oldbury") == ["1", "25.0%"]
    assert row(rep, "key_figures", "childrens_suites") == ["2", "50.0%"]
    other = report(episodes, query=replace(OPEN, childrens_suites=("walsall",)))
    assert row(other, "childrens_suites", "at") == ["2", "50.0%"]


def test_overnight_counts_children_by_their_first_night_and_counts_every_night() -> None:
    episodes = [
        summary("C1", age_band="14-15", nights=[("2025-04-04", True)]),
        summary("C2", age_band="14-15", nights=[("2025-04-04", True), ("2025-04-05", False)]),
        summary("C3", age_band="16-17", nights=[("2025-04-04", False)]),
        summary("C4", age_band="16-17"),
    ]
    rep = report(episodes, query=OPEN)
    assert rep.table("overnight").columns == ("14-15", "16-17", "Total")
    assert row(rep, "overnight", "overnight") == ["2", "1", "3"]
    assert row(rep, "overnight", "first_pre") == ["2", "0", "2"]
    assert row(rep, "overnight", "first_post") == ["0", "1", "1"]
    assert row(rep, "overnight", "not_overnight") == ["0", "1", "1"]
    assert row(rep, "overnight", "nights") == ["3", "1", "4"]
    assert row(rep, "overnight", "nights_post") == ["1", "1", "2"]
    assert any("00:00-06:00" in note for note in rep.table("overnight").notes)


def funnel_children() -> list[EpisodeSummary]:
    refused: tuple[float, Literal["refused"], str] = (3.0, "refused", "no secure bed available")
    return [
        summary("W1", basis="warrant", bail_refused_h=2, hours=20),
        summary("B1", basis="breach_of_bail", bail_refused_h=2, hours=20),
        summary(  # moved: secure request 30 min after refusal, accepted, transferred 4h after
            "T1",
            bail_refused_h=2,
            requests=[(2.5, "secure")],
            responses=[(3, "accepted", None)],
            transferred_h=6,
        ),
        summary("N1", bail_refused_h=2, hours=20),  # no request made
        summary(  # refused, certified impracticable; request 90 min after refusal
            "R1",
            bail_refused_h=2,
            requests=[(3.5, "non_secure")],
            responses=[refused],
            impracticable_h=4,
            hours=20,
        ),
        summary(  # refused, no certificate, request after 60 min
            "R2", bail_refused_h=2, requests=[(3, "non_secure")], responses=[refused], hours=20
        ),
        summary("Q1", la="dudley", bail_refused_h=2, requests=[(2.25, "secure")], hours=20),
        summary("X1", hours=3),  # not remanded
    ]


def test_the_s38_6_funnel_per_local_authority() -> None:
    rep = report(funnel_children(), query=OPEN)
    assert rep.table("funnel").columns == ("birmingham", "dudley", "Total")
    expected = {
        "remanded": ["6", "1", "7"],
        "exempt": ["2", "0", "2"],
        "exempt:warrant": ["1", "0", "1"],
        "exempt:breach_of_bail": ["1", "0", "1"],
        "exempt:court_remand": ["0", "0", "0"],
        "needing": ["4", "1", "5"],
        "requested": ["3", "1", "4"],
        "secure": ["1", "1", "2"],
        "non_secure": ["2", "0", "2"],
        "accepted": ["1", "0", "1"],
        "refused": ["2", "0", "2"],
        "no_response": ["0", "1", "1"],
        "transferred": ["1", "0", "1"],
        "not_transferred": ["3", "1", "4"],
        "not_requested": ["1", "0", "1"],
        "no_accommodation": ["2", "1", "3"],
        "certified": ["1", "0", "1"],
        "not_certified": ["2", "1", "3"],
    }
    assert {k: row(rep, "funnel", k) for k in expected} == expected
    # medians: birmingham 30, 90, 60 min -> 01:00; dudley 15 min; all four -> 45 min
    assert row(rep, "funnel_times", "to_request") == ["01:00", "00:15", "00:45"]
    assert row(rep, "funnel_times", "to_transfer") == ["04:00", "-", "04:00"]
    assert row(rep, "la_refusals", "reason:no secure bed available") == ["2", "0", "2"]


def test_the_funnel_suppressed_shows_no_count_under_five_and_no_way_to_work_one_out() -> None:
    rep = report(funnel_children())
    assert row(rep, "funnel", "remanded") == ["*", "<5", "7"]  # 6 would give dudley away
    assert row(rep, "funnel", "exempt") == ["<5", "0", "<5"]
    assert row(rep, "funnel", "needing") == ["<5", "<5", "*"]
    assert row(rep, "funnel_times", "to_request") == ["*", "*", "*"]
    assert "Small numbers are suppressed" in rep.definitions[0]
    assert "NOT suppressed" in report(funnel_children(), query=OPEN).definitions[0]


def test_escalations_count_standing_alerts_of_the_reports_children_by_rule_la_and_suite() -> None:
    episodes = [
        summary("C1"),
        summary("C2", la="dudley", suite="oldbury"),
        summary("A1", adult=True),
    ]
    alerts = [
        alert("C1"),
        alert("C1", "overnight_hold", "at_risk"),
        replace(alert("C1", "overnight_hold", "at_risk"), state="resolved"),  # same alert, later
        alert("C2", la="dudley", suite="oldbury"),
        alert("C2", "appropriate_adult", "not_requested", la="dudley", state="retracted"),
        alert("ELSEWHERE"),  # an episode outside the period
    ]
    rep = report(episodes, alerts, query=OPEN)
    assert row(rep, "alerts_by_la", "all") == ["2", "1", "3"]
    assert row(rep, "alerts_by_la", "detention_duration/breach") == ["1", "1", "2"]
    assert row(rep, "alerts_by_suite", "overnight_hold/at_risk") == ["0", "1", "1"]
    assert rep.table("alerts_by_suite").columns == ("oldbury", "perry-barr", "Total")
    assert all(t.id != "acknowledged_by_la" for t in rep.tables())


def test_acknowledgement_time_steps_and_unacknowledged_from_alert_outcomes() -> None:
    episodes = [summary("C1"), summary("C2"), summary("C3")]
    alerts = [alert("C1"), alert("C2"), alert("C3")]
    raised = datetime(2025, 4, 3, 16, 0, tzinfo=UTC)
    outcomes = [
        AlertOutcome(alerts[0].alert_id, raised, raised.replace(minute=10), 0),
        AlertOutcome(alerts[1].alert_id, raised, raised.replace(minute=50), 2),
        AlertOutcome(alerts[2].alert_id, raised, None, 5),
    ]
    rep = report(episodes, alerts, query=OPEN, outcomes=outcomes)
    assert row(rep, "acknowledged_by_la", "birmingham") == [
        "3", "2", "1", "00:30", "1", "0", "1", "1",
    ]  # fmt: skip
    assert row(rep, "acknowledged_by_suite", "Total")[:3] == ["3", "2", "1"]


def test_longest_holds_and_repeat_detentions_by_pseudonymous_reference() -> None:
    episodes = [
        summary("C1", person="P-A", hours=30),
        summary("C2", person="P-B", hours=50, t0="2025-04-05T10:00:00Z"),
        summary("C3", person="P-A", hours=2, t0="2025-04-20T10:00:00Z"),
        summary("C4", person="P-C", hours=None),
    ]
    rep = report(episodes, query=replace(APRIL, longest=2))
    assert len(rep.table("longest_holds").rows) == 2
    firsts = [row(rep, "longest_holds", k) for k in ("1", "2")]
    assert [(r[0], r[5]) for r in firsts] == [("P-B", "50:00"), ("P-A", "30:00")]
    assert row(rep, "repeat_detentions", "1")[:3] == ["P-A", "2", "32:00"]
    assert row(rep, "distinct_children", "repeat") == ["<5", "*"]
    shown = {
        text(t, (r, c), rep.withheld_in(t.id))
        for t in rep.tables()
        for r in range(len(t.rows))
        for c in range(len(t.columns))
    }
    assert not shown & {"C1", "C2", "C3", "C4"}  # no custody record numbers, only person_ref


def test_the_period_is_by_local_date_of_t0_and_filters_by_la_and_suite() -> None:
    episodes = [
        summary("IN1", t0="2025-04-01T00:30:00+01:00"),  # 23:30Z on 31 March: 1 April, BST
        summary("OUT", t0="2025-04-30T23:30:00Z"),  # 00:30 on 1 May, BST
        summary("IN2", t0="2025-04-30T22:30:00Z", la="dudley", suite="oldbury"),
    ]
    rep = report(episodes, query=OPEN)
    assert row(rep, "key_figures", "detentions") == ["2", ""]
    by_la = report(episodes, query=replace(OPEN, local_authority="dudley"))
    assert row(by_la, "key_figures", "detentions") == ["1", ""]
    by_suite = report(episodes, query=replace(OPEN, suite="perry-barr"))
    assert row(by_suite, "key_figures", "detentions") == ["1", ""]
    assert "home local authority dudley" in by_la.title
