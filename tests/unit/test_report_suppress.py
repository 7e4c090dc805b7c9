"""Small-number suppression, on tables small enough to check by hand."""

from __future__ import annotations

from collections import Counter

from custodywatch.report.cells import text
from custodywatch.report.model import Count, Duration, Row, Share, Sum, Table, Text, Withheld
from custodywatch.report.suppress import withhold
from custodywatch.report.tables import Line, Split, grid


def shown(table: Table, withheld: Withheld) -> list[list[str]]:
    return [
        [text(table, (r, c), withheld) for c in range(len(row.cells))]
        for r, row in enumerate(table.rows)
    ]


def column(values: dict[str, int], lines: list[Line], splits: list[Split]) -> Table:
    counts = Counter({(k, "n"): v for k, v in values.items()})
    return grid("t", "t", lines, ["n"], counts, splits, total_column=False)


def test_counts_of_one_to_four_are_shown_as_under_five_and_zero_and_five_are_shown() -> None:
    rows = tuple(Row(str(n), str(n), (Count(n),)) for n in range(7))
    table = Table("t", "t", ("n",), rows)
    assert [r[0] for r in shown(table, withhold(table))] == ["0", "<5", "<5", "<5", "<5", "5", "6"]


def test_a_visible_total_with_one_small_part_withholds_the_smallest_other_part() -> None:
    lines = [Line("all", "all"), Line("a", "a", 1), Line("b", "b", 1), Line("c", "c", 1)]
    table = column({"all": 19, "a": 3, "b": 7, "c": 9}, lines, [Split("all", ("a", "b", "c"))])
    assert [r[0] for r in shown(table, withhold(table))] == ["19", "<5", "*", "9"]


def test_when_only_zeros_are_left_to_withhold_the_total_is_withheld() -> None:
    lines = [Line("all", "all"), Line("a", "a", 1), Line("b", "b", 1)]
    table = column({"all": 3, "a": 3, "b": 0}, lines, [Split("all", ("a", "b"))])
    assert [r[0] for r in shown(table, withhold(table))] == ["<5", "<5", "0"]
    table = column({"all": 30, "a": 0, "b": 30}, lines, [Split("all", ("a", "b"))])
    assert [r[0] for r in shown(table, withhold(table))] == ["30", "0", "30"]


def test_a_small_subtotal_forces_its_sibling_to_be_withheld_at_the_next_level() -> None:
    # T = A + B, A = a1 + a2: A = 2 is small, so B would give it away through T.
    lines = [Line("T", "T"), Line("A", "A", 1), Line("a1", "a1", 2), Line("a2", "a2", 2)]
    lines.append(Line("B", "B", 1))
    values = {"T": 20, "A": 2, "a1": 2, "a2": 0, "B": 18}
    table = column(values, lines, [Split("T", ("A", "B")), Split("A", ("a1", "a2"))])
    assert [r[0] for r in shown(table, withhold(table))] == ["20", "<5", "<5", "0", "*"]


def test_a_grid_is_protected_across_rows_and_columns() -> None:
    # a: 3 + 6 = 9, b: 5 + 6 = 11; columns 8 and 12; grand total 20.
    lines = [Line("all", "all"), Line("a", "a", 1), Line("b", "b", 1)]
    counts = Counter({("a", "x"): 3, ("a", "y"): 6, ("b", "x"): 5, ("b", "y"): 6})
    counts.update({("all", "x"): 8, ("all", "y"): 12})
    table = grid("t", "t", lines, ["x", "y"], counts, [Split("all", ("a", "b"))])
    assert shown(table, withhold(table)) == [
        ["8", "12", "20"],
        ["<5", "*", "9"],
        ["*", "*", "11"],
    ]


def test_shares_of_withheld_counts_and_means_of_few_detentions_are_withheld() -> None:
    rows = (
        Row("all", "all", (Count(10), Share((0, 0), (0, 0)), Duration(300.0, 10))),
        Row("a", "a", (Count(2), Share((1, 0), (0, 0)), Duration(120.0, 2))),
        Row("b", "b", (Count(8), Share((2, 0), (0, 0)), Duration(345.0, 8))),
    )
    table = Table("t", "t", ("n", "share", "mean"), rows, (Sum((0, 0), ((1, 0), (2, 0))),))
    assert shown(table, withhold(table)) == [
        ["10", "100.0%", "05:00"],
        ["<5", "*", "*"],
        ["*", "*", "05:45"],
    ]


def test_individual_tables_and_text_are_never_withheld() -> None:
    table = Table(
        "t", "t", ("who", "n"), (Row("1", "1", (Text("P-1"), Count(2))),), individual=True
    )
    assert shown(table, withhold(table)) == [["P-1", "2"]]
