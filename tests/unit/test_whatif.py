"""`custodywatch whatif`: hand-checked small histories replayed under other thresholds.

The history (all children, alerts for the appropriate adult and reviews kept away):
- P-A, birmingham: held 4h30m from 10 April, and again 4h30m from 10 May;
- P-B, coventry: held 7h from 23:30 UTC on 30 April, which is 00:30 on 1 May in
  London (summer time): a May detention, held overnight;
- an adult held 5h (never counted).
Under the current rules only P-B breaches the six-hour guideline; under a four-hour
one, P-A's two detentions do too.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from builders import Episode
from report_builders import MADE

from custodywatch.cli import main
from custodywatch.core.config import RuleConfig
from custodywatch.report import cells
from custodywatch.report.engine import build_report
from custodywatch.report.model import Count, ReportQuery
from custodywatch.report.sources import runs_from_events, summaries_from_events
from custodywatch.report.whatif import ALL, TOTAL, WhatIf, WhatIfQuery, compare
from custodywatch.report.whatif_settings import Setting, apply_settings, governed
from custodywatch.report.whatif_views import headline
from custodywatch.sim.config import SimConfig
from custodywatch.sim.generator import iter_lines

FOUR_HOURS = (Setting("detention_duration.breach", "4h"),)
BREACH = "detention_duration/breach"


def _child(rid: str, t0: str, person: str, la: str, hours: str) -> Episode:
    ep = Episode(rid, t0=t0, dob="2010-01-01", person_ref=person, home_la=la)
    ep.at("+20m", "appropriate_adult_requested").at("+50m", "appropriate_adult_arrived")
    if hours == "+7h":
        ep.at("+5h30m", "detention_reviewed")
    return ep.at(hours, "released")


def history() -> list[bytes]:
    episodes = [
        _child("CR1", "2025-04-10T10:00:00+00:00", "P-A", "birmingham", "+4h30m"),
        _child("CR2", "2025-04-30T23:30:00+00:00", "P-B", "coventry", "+7h"),
        _child("CR3", "2025-05-10T10:00:00+00:00", "P-A", "birmingham", "+4h30m"),
        Episode("CR4", t0="2025-04-12T10:00:00+00:00", dob="1990-01-01", person_ref="P-D").at(
            "+5h", "released"
        ),
    ]
    return [line for ep in episodes for line in ep.lines()]


def what_if(
    suppress: bool = False,
    start: date | None = None,
    end: date | None = None,
    local_authority: str | None = None,
) -> WhatIf:
    rules = apply_settings({}, FOUR_HOURS)
    current, changed = runs_from_events(history(), (RuleConfig(), rules), lambda _: None)
    q = WhatIfQuery(
        FOUR_HOURS, ("6h",), governed(FOUR_HOURS), start, end, local_authority, suppress
    )
    return compare(current, changed, q, RuleConfig())


def counts(w: WhatIf, scope: str, period: str, measure: str) -> tuple[str, str, str]:
    row = w.detail.row(f"{scope}|{period}|{measure}")
    return (
        cells.text(w.detail, (row, 0), w.withheld),
        cells.text(w.detail, (row, 1), w.withheld),
        cells.text(w.detail, (row, 2), w.withheld),
    )


def test_a_child_held_4h30m_is_alerted_by_a_four_hour_guideline_not_by_six() -> None:
    w = what_if()
    assert counts(w, "birmingham", "2025-04", BREACH) == ("0", "1", "+1")
    assert counts(w, "birmingham", "2025-04", "children_changed") == ("0", "1", "+1")
    assert counts(w, "coventry", "2025-05", BREACH) == ("1", "1", "0")
    # nothing else changes: the other rules' counts are the same in both runs
    assert counts(w, ALL, TOTAL, "detention_duration/approaching") == ("1", "1", "0")
    assert counts(w, ALL, TOTAL, "alerts") == ("3", "5", "+2")


def test_months_are_local_months_of_t0_and_las_are_home_las() -> None:
    w = what_if()
    assert w.months == ("2025-04", "2025-05") and w.las == ("birmingham", "coventry")
    assert counts(w, "coventry", "2025-04", "alerts") == ("0", "0", "0")  # 23:30 UTC is May
    assert counts(w, "coventry", "2025-05", "overnight_hold/overnight") == ("1", "1", "0")
    assert counts(w, "birmingham", "2025-05", BREACH) == ("0", "1", "+1")
    assert counts(w, ALL, "2025-05", BREACH) == ("1", "2", "+1")


def test_a_child_counts_once_in_the_total_while_alerts_add_up() -> None:
    w = what_if()
    assert counts(w, "birmingham", TOTAL, BREACH) == ("0", "2", "+2")
    assert counts(w, "birmingham", TOTAL, "children_changed") == ("0", "1", "+1")
    assert counts(w, ALL, TOTAL, "children_changed") == ("1", "2", "+1")
    assert counts(w, ALL, TOTAL, "children") == ("1", "2", "+1")  # the adult never counts


def test_the_headline_answers_the_question_first() -> None:
    first, second = headline(what_if())
    assert first == (
        "Children alerted by detention_duration/breach, 10 April 2025 to 10 May 2025: "
        "2 with detention_duration.breach=4h, against 1 under the current rules "
        "(detention_duration.breach=6h): +1."
    )
    assert second.startswith("Alerts of detention_duration/breach: 3 with")


def test_period_and_la_select_detentions_by_t0() -> None:
    w = what_if(start=date(2025, 5, 1), end=date(2025, 5, 31), local_authority="birmingham")
    assert w.scopes == ("birmingham",) and w.months == ("2025-05",)
    assert counts(w, "birmingham", TOTAL, BREACH) == ("0", "1", "+1")
    assert headline(w)[0].startswith(
        "Children alerted by detention_duration/breach, 1 May 2025 to 31 May 2025, "
        "home local authority birmingham: 1 with"
    )


def test_small_numbers_are_suppressed_with_their_differences() -> None:
    w = what_if(suppress=True)
    assert counts(w, "birmingham", "2025-04", BREACH) == ("0", "<5", "*")
    assert counts(w, ALL, TOTAL, "alerts") == ("<5", "5", "*")
    first = headline(w)[0]
    assert ": <5 with detention_duration.breach=4h, against <5 under" in first
    assert first.endswith(": *.")


def test_secondary_suppression_protects_a_small_count_through_its_total() -> None:
    w = what_if(suppress=True)
    # the what-if total of 5 alerts is visible; its parts by rule (1 approaching,
    # 3 breaches, 1 overnight) are all withheld, so none can be worked out
    parts = ["detention_duration/approaching", BREACH, "overnight_hold/overnight"]
    assert all(counts(w, ALL, TOTAL, k)[1] in ("<5", "*") for k in parts)


def _events(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(history()) + b"\n")
    return path


def test_the_table_starts_with_the_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["whatif", str(_events(tmp_path)), "--set", "detention_duration.breach=4h"])
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Children alerted by detention_duration/breach, 10 April 2025")
    assert out[0].endswith(": *.")  # suppressed by default
    assert any(line.startswith("Small numbers suppressed") for line in out)
    assert "P-A" not in "\n".join(out) and "CR1" not in "\n".join(out)


def test_html_has_the_chart_and_csv_every_count(tmp_path: Path) -> None:
    events = _events(tmp_path)
    html, zipped = tmp_path / "w.html", tmp_path / "w.zip"
    argv = ["whatif", str(events), "--set", "detention_duration.breach=4h", "--no-suppress"]
    assert main([*argv, "--format", "html", "--out", str(html)]) == 0
    page = html.read_text(encoding="utf-8")
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page and "<polyline" in page
    assert 'aria-label="Children alerted by detention_duration/breach, by month of T0"' in page
    assert "NOT suppressed: internal use only" in page and "<script" not in page
    assert main([*argv, "--format", "csv", "--out", str(zipped)]) == 0
    archive = zipfile.ZipFile(io.BytesIO(zipped.read_bytes()))
    assert "Children alerted by detention_duration/breach" in archive.read("README.txt").decode()
    rows = list(csv.DictReader(io.StringIO(archive.read("whatif_detail.csv").decode())))
    got = {(r["local_authority"], r["month"], r["measure"]): r for r in rows}
    birmingham = got["birmingham", "total", BREACH]
    assert (birmingham["current"], birmingham["what-if"], birmingham["difference"]) == (
        "0",
        "2",
        "+2",
    )
    assert {"whatif_period.csv", "whatif_monthly.csv", "whatif_by_la.csv"} <= set(
        archive.namelist()
    )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("detention_duration.brech=4h", "detention_duration.brech: unknown key"),
        ("detention_durations.breach=4h", "detention_durations: unknown key"),
        ("detention_duration.breach=4 hours", "detention_duration.breach: Value error"),
        ("detention_duration.breach=0m", "detention_duration.breach: "),
        ("juvenile_age.years=17", "juvenile_age is a value, not a section"),
        ("detention_duration.breach", "expected KEY=VALUE"),
        ("overnight.window_end=25:00", "overnight.window_end: "),
    ],
)
def test_a_bad_setting_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setting: str, message: str
) -> None:
    code = main(["whatif", str(_events(tmp_path)), "--set", setting])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert err[0].startswith("custodywatch: --set")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--store", "--database-url", "nonsense"], "database URL is not a SQLAlchemy URL"),
        (["EVENTS", "--database-url", "sqlite:///x.db"], "--database-url goes with --store"),
        (["/nonexistent/e.jsonl"], "cannot read /nonexistent/e.jsonl"),
        (["EVENTS", "--format", "csv"], "--format csv writes a zip: give --out PATH"),
        (["EVENTS", "--from", "2025-05-01", "--to", "2025-04-01"], "is before --from"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    events = str(_events(tmp_path))
    argv = [events if a == "EVENTS" else a for a in argv]
    assert main(["whatif", *argv, "--set", "detention_duration.breach=4h"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and "Traceback" not in "\n".join(err)


def test_the_current_column_is_what_the_report_counts() -> None:
    """On a simulated month, the current rules' alerts per LA equal the report's."""
    config = SimConfig(seed=3, months=1, detentions=3000)
    lines = [line.encode() for line in iter_lines(config)]
    april = ReportQuery(start=date(2025, 4, 1), end=date(2025, 4, 30), suppress=False)
    summaries, alerts = summaries_from_events(lines, RuleConfig())
    report = build_report(summaries, alerts, april, RuleConfig(), MADE)
    settings = (Setting("detention_duration.breach", "4h"),)
    rules = apply_settings({}, settings)
    current, _ = runs_from_events(lines, (RuleConfig(), rules), lambda _: None)
    q = WhatIfQuery(settings, ("6h",), governed(settings), april.start, april.end, suppress=False)
    w = compare(current, current, q, RuleConfig())
    table = report.table("alerts_by_la")
    assert len(w.las) >= 5
    for la in (*w.las, ALL):
        column = "Total" if la == ALL else la
        expected = table.cell("all", column)
        assert isinstance(expected, Count) and expected.n > 0
        got = w.detail.at(w.coord(la, TOTAL, "alerts"))
        assert isinstance(got, Count) and got.n == expected.n, la
