"""The report reproduces the published figures from the simulator's default ten months.

The events are replayed into episode summaries (`summaries_from_events`), the report
engine computes its tables from those, and the figures read off the tables are
compared with the published ones by the calibration's own tolerances (`compare`):
the figures come from the report, only the yardstick from the calibration.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from custodywatch.cli import main
from custodywatch.core.config import RuleConfig
from custodywatch.report.engine import build_report
from custodywatch.report.facts import months_of
from custodywatch.report.model import Count, Duration, Report, ReportQuery, Text
from custodywatch.report.sources import summaries_from_events
from custodywatch.sim.calibration import Figures, compare, format_table
from custodywatch.sim.config import SimConfig
from custodywatch.sim.generator import iter_lines

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from report_builders import summary
from test_report_tables import funnel_children

TEN_MONTHS = ReportQuery(start=date(2025, 4, 1), end=date(2026, 1, 31), suppress=False)
MADE = datetime(2026, 2, 1, tzinfo=UTC)


def _lines(config: SimConfig) -> Iterator[bytes]:
    return (line.encode("utf-8") for line in iter_lines(config))


def _count(report: Report, table: str, row: str, column: str) -> int:
    cell = report.table(table).cell(row, column)
    assert isinstance(cell, Count)
    return cell.n


def _duration(report: Report, table: str, row: str, column: str) -> Duration:
    cell = report.table(table).cell(row, column)
    assert isinstance(cell, Duration)
    return cell


def figures_of(report: Report) -> Figures:
    """The calibration's figures, read off the report's tables."""
    fig = Figures()
    fig.detentions = _count(report, "key_figures", "detentions", "Number")
    fig.children = _count(report, "key_figures", "children", "Number")
    fig.children_at_childrens_suites = _count(report, "key_figures", "childrens_suites", "Number")
    for who in ("child", "adult"):
        mean = _duration(report, "key_figures", f"{who}_mean", "Number")
        setattr(fig, f"{who}_minutes", (mean.minutes or 0.0) * mean.base)
        setattr(fig, f"{who}_ended", mean.base)
    monthly = report.table("monthly_mean")
    for month, header in zip(months_of(report.query), monthly.columns, strict=False):
        mean = _duration(report, "monthly_mean", "children", header)
        if mean.base:
            fig.monthly[month] = (mean.minutes or 0.0, mean.base)
    total = "Total"
    fig.remanded = _count(report, "funnel", "remanded", total)
    fig.exempt = _count(report, "funnel", "exempt", total)
    fig.needing_la = _count(report, "funnel", "needing", total)
    fig.transferred = _count(report, "funnel", "transferred", total)
    fig.not_requested = _count(report, "funnel", "not_requested", total)
    fig.no_accommodation = _count(report, "funnel", "no_accommodation", total)
    las = report.table("key_figures").cell("local_authorities", "Number")
    assert isinstance(las, Text)
    fig.local_authorities = int(las.text)
    return fig


def test_the_ten_month_report_reproduces_every_published_figure() -> None:
    config = SimConfig(seed=0)
    summaries, alerts = summaries_from_events(_lines(config), RuleConfig())
    report = build_report(summaries, alerts, TEN_MONTHS, RuleConfig(), MADE)
    rows = compare(figures_of(report), config.scale, config.targets)
    print(format_table(rows))
    assert [r.name for r in rows if not r.ok] == []
    assert len(rows) >= 23


def test_an_episodes_file_and_the_events_file_give_the_same_tables(tmp_path: Path) -> None:
    config = SimConfig(seed=3, months=2, detentions=4000)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(_lines(config)))
    summaries, alerts = summaries_from_events(events.read_bytes().splitlines(), RuleConfig())
    episodes, alerts_file = tmp_path / "episodes.jsonl", tmp_path / "alerts.jsonl"
    episodes.write_text("".join(json.dumps(s.to_dict()) + "\n" for s in summaries))
    alerts_file.write_text("".join(json.dumps(a.to_dict()) + "\n" for a in alerts))
    period = ["--from", "2025-04-01", "--to", "2025-05-31", "--format", "csv"]
    from_events, from_files = tmp_path / "a.zip", tmp_path / "b.zip"
    assert main(["report", *period, "--out", str(from_events), "--events", str(events)]) == 0
    argv = ["--out", str(from_files), "--episodes", str(episodes), "--alerts", str(alerts_file)]
    assert main(["report", *period, *argv]) == 0

    def tables(path: Path) -> dict[str, bytes]:
        archive = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
        return {n: archive.read(n) for n in archive.namelist() if n.endswith(".csv")}

    assert tables(from_events) == tables(from_files)
    assert len(tables(from_events)) >= 15


def test_figures_are_read_off_the_tables_of_a_report() -> None:
    """The mapping itself, on a report whose figures are known (no replay needed)."""
    episodes = [*funnel_children(), summary("A1", adult=True, hours=15, la="walsall")]
    report = build_report(episodes, [], TEN_MONTHS, RuleConfig(), MADE)
    fig = figures_of(report)
    assert (fig.detentions, fig.children, fig.children_at_childrens_suites) == (9, 8, 8)
    assert (fig.remanded, fig.exempt, fig.needing_la, fig.transferred) == (7, 2, 5, 1)
    assert (fig.not_requested, fig.no_accommodation, fig.local_authorities) == (1, 3, 3)
    assert fig.adult_mean_min == 15 * 60
    assert fig.monthly == {"2025-04": (fig.child_mean_min, 8)}
