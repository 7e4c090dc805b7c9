"""Command-line values: bad ones are usage errors (exit 2) that say what was wrong."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pytest

from custodywatch.argtypes import count, fraction, positive_float
from custodywatch.cli import main


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (positive_float, "0", "must be positive"),
        (positive_float, "-2.5", "must be positive"),
        (positive_float, "fast", "not a number"),
        (count, "-1", "must be 0 or more"),
        (count, "1.5", "not a whole number"),
        (fraction, "1", r"must be in \[0, 1\)"),
        (fraction, "-0.1", r"must be in \[0, 1\)"),
    ],
)
def test_bad_values_are_refused_with_the_reason(
    parse: Callable[[str], object], text: str, message: str
) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse(text)


def test_good_values_pass_through() -> None:
    assert positive_float("1800") == 1800.0
    assert count("0") == 0
    assert fraction("0") == 0.0


@pytest.mark.parametrize(
    "argv",
    [["demo", "--speed", "0"], ["demo", "--hours", "-1"], ["simulate", "--kafka", "--speed", "0"]],
)
def test_a_zero_or_negative_speed_or_span_is_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "must be positive" in capsys.readouterr().err
