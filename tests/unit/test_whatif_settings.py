"""`--set` settings: values, the current value shown beside them, and which alerts
each key governs (checked against the rules' own stages and sections)."""

from __future__ import annotations

import pytest

from custodywatch.contract.events import ArrestBasis
from custodywatch.core.config import HOUR_US, MINUTE_US, RuleConfig
from custodywatch.core.rules import STAGES
from custodywatch.report.whatif_settings import (
    SECTION_RULES,
    STAGE_KEYS,
    Setting,
    SettingError,
    apply_settings,
    current_value,
    governed,
    is_governed,
    parse_setting,
)


def test_settings_change_only_their_key_and_keep_the_rules_file() -> None:
    base = {"detention_duration": {"approaching": "3h"}, "juvenile_age": 17}
    rules = apply_settings(
        base,
        [
            parse_setting("detention_duration.breach=4h"),
            parse_setting("overnight.window_start=23:00"),
            parse_setting("la_request.exempt_arrest_bases=[warrant]"),
        ],
    )
    assert rules.detention_duration.breach == 4 * HOUR_US
    assert rules.detention_duration.approaching == 3 * HOUR_US  # from the file
    assert rules.juvenile_age == 17
    assert rules.overnight.window_start.hour == 23  # "23:00" is never read as a number
    assert rules.la_request.exempt_arrest_bases == frozenset({ArrestBasis.WARRANT})
    assert base == {"detention_duration": {"approaching": "3h"}, "juvenile_age": 17}


def test_a_mapping_of_names_takes_any_name() -> None:
    rules = apply_settings({}, [parse_setting("time_zones.suites.oldbury=Europe/Dublin")])
    assert rules.time_zones.for_suite("oldbury") == "Europe/Dublin"
    with pytest.raises(
        SettingError, match=r"time_zones\.suites: Value error, unknown IANA time zone"
    ):
        apply_settings({}, [parse_setting("time_zones.suites.oldbury=Mars/Olympus")])


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("detention_duration.breach", "4h", "6h"),
        ("appropriate_adult.not_requested", "90m", "1h"),
        ("juvenile_age", "17", "18"),
        ("overnight.window_end", "07:00", "06:00"),
        ("la_request.exempt_arrest_bases", "[warrant]", "[breach_of_bail, court_remand, warrant]"),
        ("time_zones.suites.oldbury", "Europe/Dublin", "(not set)"),
    ],
)
def test_the_current_value_is_written_like_the_setting(key: str, value: str, shown: str) -> None:
    assert current_value(RuleConfig(), Setting(key, value)) == shown


def test_a_duration_with_minutes_is_shown_in_hours_and_minutes() -> None:
    rules = apply_settings({}, [parse_setting("detention_duration.breach=5h30m")])
    assert rules.detention_duration.breach == 330 * MINUTE_US
    assert current_value(rules, Setting("detention_duration.breach", "4h")) == "5h30m"


def test_every_section_and_stage_is_governed_by_something_real() -> None:
    sections = set(RuleConfig.model_fields) - {"version", "juvenile_age"}
    assert set(SECTION_RULES) == sections  # a new section must say what it governs
    rules = {key.split("/")[0] for key in STAGES}
    # every rule with a threshold is governed by its section; la_refused has none
    assert {r for names in SECTION_RULES.values() for r in names} == rules - {"la_refused"}
    assert set(STAGE_KEYS) <= set(STAGES)
    for key in STAGE_KEYS:  # a stage governed alone is named by a key of its section
        rule, stage = key.split("/")
        section = next(s for s, names in SECTION_RULES.items() if rule in names)
        assert stage in type(getattr(RuleConfig(), section)).model_fields


@pytest.mark.parametrize(
    ("keys", "alerts", "not_alerts"),
    [
        (["detention_duration.breach"], ["detention_duration/breach"], ["detention_duration/prolonged"]),
        (["review.first"], ["review_overdue/overdue"], ["detention_duration/breach"]),
        (["la_request.exempt_arrest_bases"], ["la_request_missing/missing", "la_request_missing/escalated"], ["la_refused/refused"]),
        (["time_zones.default", "transfer.overdue"], ["overnight_hold/at_risk", "transfer_overdue/overdue"], ["review_overdue/overdue"]),
    ],
)  # fmt: skip
def test_a_key_governs_its_stage_or_its_rule(
    keys: list[str], alerts: list[str], not_alerts: list[str]
) -> None:
    chosen = governed([Setting(k, "1h") for k in keys])
    assert all(is_governed(a, chosen) for a in alerts)
    assert not any(is_governed(a, chosen) for a in not_alerts)


def test_who_is_a_child_governs_every_alert() -> None:
    assert governed([Setting("juvenile_age", "17")]) is None
