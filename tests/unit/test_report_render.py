"""The HTML and CSV renderings: self-contained, the same cells as the tables, charts inline."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import replace

from report_builders import APRIL, alert, report, summary
from test_report_tables import funnel_children

from custodywatch.contract.episodes import EpisodeSummary
from custodywatch.report import svg
from custodywatch.report.render_csv import render_csv_zip
from custodywatch.report.render_html import render_html


def sample() -> list[EpisodeSummary]:
    return [*funnel_children(), *(summary(f"S{i}", hours=3 + i) for i in range(12))]


def test_html_is_one_self_contained_file_with_inline_svg_charts() -> None:
    html = render_html(report(sample(), [alert("T1")]))
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched
    assert html.count("<svg") >= 5
    assert "Charged and refused bail" in html
    assert "Small numbers are suppressed" in html
    assert "&lt;5" in html  # a withheld count, escaped


def test_html_says_when_small_numbers_are_not_suppressed() -> None:
    html = render_html(report(sample(), query=replace(APRIL, suppress=False)))
    assert "NOT suppressed" in html and "&lt;5" not in html


def test_csv_zip_has_a_file_per_table_with_the_shown_cells_and_a_readme() -> None:
    rep = report(sample())
    archive = zipfile.ZipFile(io.BytesIO(render_csv_zip(rep)))
    names = set(archive.namelist())
    assert names == {"README.txt"} | {f"{t.id}.csv" for t in rep.tables()}
    funnel = list(csv.reader(io.StringIO(archive.read("funnel.csv").decode())))
    assert funnel[0] == ["key", "label", "birmingham", "dudley", "Total"]
    assert funnel[1] == ["remanded", "Charged and refused bail", "*", "<5", "7"]
    assert "Small numbers are suppressed" in archive.read("README.txt").decode()
    assert render_csv_zip(rep) == render_csv_zip(rep)  # same report, same bytes


def test_csv_counts_have_no_thousands_separator() -> None:
    many = [summary(f"S{i}", hours=3) for i in range(1200)]
    rep = report(many, query=replace(APRIL, suppress=False))
    archive = zipfile.ZipFile(io.BytesIO(render_csv_zip(rep)))
    rows = list(csv.reader(io.StringIO(archive.read("key_figures.csv").decode())))
    assert rows[1][:3] == ["detentions", "Detentions (all ages)", "1200"]


def test_bar_chart_draws_visible_values_only_and_prints_the_marks() -> None:
    drawing = svg.bars("t", ["a", "b", "c"], [10.0, None, 5.0], ["10", "<5", "5"])
    assert drawing.count("<rect") == 2
    assert ">&lt;5<" in drawing
    widths = [float(w) for w in re.findall(r'<rect[^>]*width="([\d.]+)"', drawing)]
    assert widths[0] == 2 * widths[1]


def test_line_chart_breaks_at_a_withheld_month() -> None:
    drawing = svg.lines("t", ["m1", "m2", "m3", "m4"], [("children", [60.0, 120.0, None, 90.0])])
    assert drawing.count("<polyline") == 1  # m1-m2; m4 stands alone
    assert drawing.count("<circle") == 3
