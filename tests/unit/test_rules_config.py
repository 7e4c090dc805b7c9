"""alerts/rules.yaml: the shipped file is the defaults; bad files name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from custodywatch.core.config import (
    HOUR_US,
    MINUTE_US,
    RuleConfig,
    RuleConfigError,
    rules_from_yaml,
)

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_rules_file_equals_the_built_in_defaults() -> None:
    assert rules_from_yaml((ROOT / "alerts" / "rules.yaml").read_text()) == RuleConfig()


def test_durations_and_partial_files() -> None:
    rules = rules_from_yaml("detention_duration:\n  breach: 4h30m\nreview:\n  first: 90m\n")
    assert rules.detention_duration.breach == 4 * HOUR_US + 30 * MINUTE_US
    assert rules.review.first == 90 * MINUTE_US
    assert rules.detention_duration.approaching == 5 * HOUR_US  # untouched default


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("detention_duration:\n  breach: 6\n", "detention_duration.breach"),
        ("detention_duration:\n  braech: 6h\n", "detention_duration.braech: unknown key"),
        ("overnight:\n  window_start: '7pm'\n", "overnight.window_start"),
        ("overnight:\n  window_start: '06:00'\n  window_end: '05:00'\n", "overnight.window_end"),
        ("time_zones:\n  default: Mars/Olympus\n", "time_zones.default"),
        ("time_zones:\n  suites: {oldbury: Nowhere/Town}\n", "time_zones.suites"),
        (
            "la_request:\n  exempt_arrest_bases: [warrant, hunch]\n",
            "la_request.exempt_arrest_bases",
        ),
        ("detention_limit:\n  initial_hours: 200\n", "detention_limit.initial_hours"),
        ("surprise: 1\n", "surprise: unknown key"),
        ("- a list\n", "top level"),
        ("detention_duration: [\n", "not valid YAML"),
    ],
)
def test_invalid_rules_name_the_bad_key(text: str, names: str) -> None:
    with pytest.raises(RuleConfigError) as info:
        rules_from_yaml(text)
    assert names in str(info.value)
