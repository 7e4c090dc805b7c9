"""Episode summaries computed by the rules core: every field, on small hand-made episodes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from builders import Episode, When

from custodywatch.contract.episodes import EPISODE_ADAPTER, EpisodeSummary, LaRequest, LaResponse
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig, rules_from_mapping
from custodywatch.core.episode_summary import age_band
from custodywatch.replay import episode_dicts, replay_summaries

ROOT = Path(__file__).resolve().parents[2]
T0 = "2026-03-01T12:00:00+00:00"
CHILD_DOB = "2010-06-15"  # 15 at T0


def child(record_id: str = "CR1", t0: str = T0, **kwargs: object) -> Episode:
    kwargs.setdefault("dob", CHILD_DOB)
    return Episode(record_id, t0=t0, **kwargs)  # type: ignore[arg-type]


def summaries(
    *episodes: Episode, until: When | None = None, rules: RuleConfig | None = None
) -> dict[str, EpisodeSummary]:
    lines = [line for ep in episodes for line in ep.lines()]
    stop = None
    if until is not None:
        stop = to_us(episodes[0].time(until))
    result, found = replay_summaries(lines, rules or RuleConfig(), until=stop)
    assert result.rejects == []
    assert [s.custody_record_id for s in found] == sorted(s.custody_record_id for s in found)
    return {s.custody_record_id: s for s in found}


def one(ep: Episode, until: When | None = None, rules: RuleConfig | None = None) -> EpisodeSummary:
    return summaries(ep, until=until, rules=rules)[ep.record_id]


def nights(summary: EpisodeSummary) -> list[tuple[str, bool]]:
    return [(n.night, n.pre_charge) for n in summary.nights]


# --- nights held --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("t0", "end", "want"),
    [
        # Three nights in winter (GMT = UTC).
        ("2026-03-01T18:00:00+00:00", "2026-03-04T18:00:00+00:00", ["03-02", "03-03", "03-04"]),
        # Released exactly at 00:00: the end cancels the night, as it cancels the alert.
        ("2026-03-01T18:00:00+00:00", "2026-03-02T00:00:00+00:00", []),
        ("2026-03-01T18:00:00+00:00", "2026-03-02T00:00:01+00:00", ["03-02"]),
        # T0 inside the window: that night counts (the first night whose 06:00 is after T0).
        ("2026-03-02T03:00:00+00:00", "2026-03-02T04:00:00+00:00", ["03-02"]),
        # T0 exactly at 06:00: that night is over; the next one is the first.
        ("2026-03-02T06:00:00+00:00", "2026-03-02T23:00:00+00:00", []),
        ("2026-03-02T06:00:00+00:00", "2026-03-03T05:00:00+00:00", ["03-03"]),
        # Spring forward (29 March 2026, 01:00 GMT -> 02:00 BST): the window ends 05:00 UTC.
        ("2026-03-29T05:30:00+00:00", "2026-03-29T22:00:00+00:00", []),
        # 00:30 BST on 30 March is 23:30 UTC on the 29th: held in the night of the 30th.
        ("2026-03-29T05:30:00+00:00", "2026-03-29T23:30:00+00:00", ["03-30"]),
        ("2026-03-29T05:30:00+00:00", "2026-03-29T23:00:00+00:00", []),  # at 00:00 BST
        # Fall back (25 October 2026, 02:00 BST -> 01:00 GMT): 05:30 UTC is 05:30 GMT, in the window.
        ("2026-10-25T05:30:00+00:00", "2026-10-25T07:00:00+00:00", ["10-25"]),
        # In summer 05:30 UTC is 06:30 BST: after the window.
        ("2026-07-01T05:30:00+00:00", "2026-07-01T07:00:00+00:00", []),
    ],
)
def test_nights_held_follow_the_overnight_window(t0: str, end: str, want: list[str]) -> None:
    ep = child(t0=t0).at(end, "released")
    assert [n for n, _ in nights(one(ep))] == [f"2026-{day}" for day in want]


def test_nights_of_an_open_episode_are_counted_up_to_the_clock() -> None:
    ep = child(t0="2026-03-01T18:00:00+00:00")
    assert nights(one(ep, until="2026-03-01T23:59:59+00:00")) == []
    # At 00:00 the child is held overnight: the overnight alert fires at that instant too.
    assert nights(one(ep, until="2026-03-02T00:00:00+00:00")) == [("2026-03-02", True)]
    assert [n for n, _ in nights(one(ep, until="2026-03-03T03:00:00+00:00"))] == [
        "2026-03-02",
        "2026-03-03",
    ]


def test_nights_before_and_after_charge() -> None:
    ep = child(t0="2026-03-01T18:00:00+00:00")
    ep.at("2026-03-02T10:00:00+00:00", "charged").at("2026-03-04T01:00:00+00:00", "released")
    assert nights(one(ep)) == [("2026-03-02", True), ("2026-03-03", False), ("2026-03-04", False)]


def test_charged_exactly_at_the_window_start_is_a_post_charge_night() -> None:
    ep = child(t0="2026-03-01T18:00:00+00:00")
    ep.at("2026-03-02T00:00:00+00:00", "charged").at("2026-03-02T02:00:00+00:00", "released")
    assert nights(one(ep)) == [("2026-03-02", False)]


def test_a_night_begun_inside_the_window_is_pre_charge_when_uncharged_at_t0() -> None:
    ep = child(t0="2026-03-02T02:00:00+00:00")
    ep.at("+1h", "charged").at("+2h", "released")
    assert nights(one(ep)) == [("2026-03-02", True)]


def test_nights_use_the_suite_time_zone_and_window_from_the_rules() -> None:
    rules = rules_from_mapping(
        {
            "time_zones": {"suites": {"nyc-1": "America/New_York"}},
            "overnight": {"window_start": "01:00", "window_end": "05:00"},
        }
    )
    # 05:30 UTC is 00:30 in New York (EST): before that night's 01:00 window start.
    ep = child(t0="2026-03-02T05:30:00+00:00", suite="nyc-1")
    assert nights(one(ep, until="2026-03-02T05:59:59+00:00", rules=rules)) == []
    assert nights(one(ep, until="2026-03-02T06:00:00+00:00", rules=rules)) == [("2026-03-02", True)]


# --- age band and juvenile status -----------------------------------------------------------


@pytest.mark.parametrize(
    ("dob", "age", "band", "juvenile"),
    [
        ("2016-03-02", 9, "under 10", True),  # tenth birthday the day after T0
        ("2016-03-01", 10, "10-13", True),  # tenth birthday on T0's date
        ("2012-03-02", 13, "10-13", True),
        ("2012-03-01", 14, "14-15", True),
        ("2010-03-02", 15, "14-15", True),
        ("2010-03-01", 16, "16-17", True),
        ("2008-03-02", 17, "16-17", True),
        ("2008-03-01", 18, "18 and over", False),  # eighteenth birthday on T0's date
        ("1980-01-01", 46, "18 and over", False),
    ],
)
def test_age_band_at_t0(dob: str, age: int, band: str, juvenile: bool) -> None:
    s = one(child(dob=dob))
    assert (s.age_at_t0, s.age_band, s.juvenile) == (age, band, juvenile)


def test_age_band_boundaries() -> None:
    assert [age_band(a) for a in (None, 0, 9, 10, 13, 14, 15, 16, 17, 18, 99)] == [
        "unknown", "under 10", "under 10", "10-13", "10-13", "14-15", "14-15",
        "16-17", "16-17", "18 and over", "18 and over",
    ]  # fmt: skip


def test_a_birthday_is_counted_on_the_local_date_of_t0() -> None:
    # 23:30 UTC on 30 June is 00:30 BST on 1 July: the eighteenth birthday.
    s = one(child(t0="2026-06-30T23:30:00+00:00", dob="2008-07-01"))
    assert (s.age_at_t0, s.age_band, s.juvenile) == (18, "18 and over", False)


def test_age_unknown_when_only_appearance_is_known() -> None:
    s = one(Episode("CR1", t0=T0, appears_under_18=True))
    assert (s.age_at_t0, s.age_band, s.juvenile) == (None, "unknown", True)


def test_age_established_updates_age_band_and_juvenile_status() -> None:
    ep = Episode("CR1", t0=T0, appears_under_18=True).at(
        "+2h", "age_established", date_of_birth="1990-01-01"
    )
    s = one(ep)
    assert (s.age_at_t0, s.age_band, s.juvenile, s.next_deadline) == (
        36,
        "18 and over",
        False,
        None,
    )


# --- identity, arrest and detainee facts ---------------------------------------------------------


def test_identity_and_detainee_facts() -> None:
    ep = child(
        person_ref="P-0042",
        home_la="sandwell",
        arrest_basis="warrant",
        sex="female",
        looked_after_child=True,
        offence_category="criminal_damage",
        arrested_at="2026-03-01T10:15:00+01:00",
        arrived_at="-20m",
    )
    s = one(ep)
    assert (s.custody_record_id, s.person_ref, s.home_local_authority) == (
        "CR1",
        "P-0042",
        "sandwell",
    )
    assert (s.sex, s.looked_after_child) == ("female", True)
    assert (s.arrest_basis, s.offence_category) == ("warrant", "criminal_damage")
    assert (s.arrested_at, s.arrived_at) == ("2026-03-01T09:15:00Z", "2026-03-01T11:40:00Z")
    assert s.detention_authorised_at == "2026-03-01T12:00:00Z"
    assert s.schema_version == 1


def test_unknown_sex_and_looked_after_status_stay_unknown() -> None:
    s = one(child())
    assert (s.sex, s.looked_after_child) == (None, None)


def test_appropriate_adult_reviews_charge_and_bail() -> None:
    ep = child().at("+20m", "appropriate_adult_requested").at("+2h", "appropriate_adult_arrived")
    ep.at("+6h", "detention_reviewed").at("+3h", "detention_reviewed")  # out of order
    ep.at("+7h", "charged").at("+7h30m", "bail_refused")
    s = one(ep)
    assert s.appropriate_adult_requested_at == "2026-03-01T12:20:00Z"
    assert s.appropriate_adult_arrived_at == "2026-03-01T14:00:00Z"
    assert s.reviews == ("2026-03-01T15:00:00Z", "2026-03-01T18:00:00Z")
    assert (s.charged_at, s.bail_refused_at) == ("2026-03-01T19:00:00Z", "2026-03-01T19:30:00Z")
    assert s.updated_at == "2026-03-01T19:30:00Z"  # the latest occurred_at, not the last line


def test_extensions_in_time_order() -> None:
    ep = child().at("+30h", "detention_extended", new_limit_hours=48)
    ep.at("+20h", "detention_extended", new_limit_hours=36)  # out of order
    s = one(ep)
    assert [(x.extended_at, x.new_limit_hours) for x in s.extensions] == [
        ("2026-03-02T08:00:00Z", 36),
        ("2026-03-02T18:00:00Z", 48),
    ]
    assert one(child()).extensions == ()


def test_nothing_happened_yet() -> None:
    s = one(child())
    assert (s.appropriate_adult_requested_at, s.appropriate_adult_arrived_at) == (None, None)
    assert (s.reviews, s.charged_at, s.bail_refused_at) == ((), None, None)
    assert (s.la_requests, s.la_responses, s.transfer_impracticable_at) == ((), (), None)
    assert (s.ended_at, s.end, s.disposal, s.transferred_to_la, s.transferred_to_la_at) == (
        (None,) * 5
    )


# --- suites ---------------------------------------------------------------------------------------


def test_suite_now_and_before() -> None:
    ep = child().at("+2h", "transferred_to_suite", to_suite_id="oldbury")
    ep.at("+5h", "transferred_to_suite", to_suite_id="wolverhampton")
    s = one(ep)
    assert s.suite_id == "wolverhampton"
    assert [(x.suite_id, x.since) for x in s.suites] == [
        ("perry-barr", "2026-03-01T12:00:00Z"),
        ("oldbury", "2026-03-01T14:00:00Z"),
        ("wolverhampton", "2026-03-01T17:00:00Z"),
    ]


# --- local authority: requests, responses, certificate, transfer ------------------------------------


def test_la_requests_responses_and_transfer() -> None:
    ep = child(home_la="birmingham").at("+3h", "charged").at("+3h10m", "bail_refused")
    ep.at(
        "+3h30m",
        "la_accommodation_requested",
        local_authority="sandwell",
        accommodation_type="secure",
    )
    ep.at(
        "+4h",
        "la_accommodation_response",
        local_authority="sandwell",
        outcome="refused",
        reason="no secure bed",
    )
    ep.at("+4h10m", "la_accommodation_requested", local_authority="dudley")
    ep.at("+4h40m", "la_accommodation_response", local_authority="dudley", outcome="accepted")
    ep.at("+6h", "transferred_to_la", local_authority="dudley")
    s = one(ep)
    assert s.la_requests == (
        LaRequest("2026-03-01T15:30:00Z", "sandwell", "secure"),
        LaRequest("2026-03-01T16:10:00Z", "dudley", "non_secure"),
    )
    assert s.la_responses == (
        LaResponse("2026-03-01T16:00:00Z", "sandwell", "refused", "no secure bed"),
        LaResponse("2026-03-01T16:40:00Z", "dudley", "accepted", None),
    )
    assert s.transfer_impracticable_at is None
    assert (s.end, s.ended_at, s.disposal) == ("transferred_to_la", "2026-03-01T18:00:00Z", None)
    assert (s.transferred_to_la, s.transferred_to_la_at) == ("dudley", "2026-03-01T18:00:00Z")
    assert s.next_deadline is None


def test_transfer_impracticable_certificate() -> None:
    ep = child().at("+3h", "charged").at("+3h10m", "bail_refused")
    ep.at("+3h40m", "transfer_impracticable_certified")
    assert one(ep).transfer_impracticable_at == "2026-03-01T15:40:00Z"


# --- end and disposal -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "disposal", ["bail", "released_under_investigation", "no_further_action", "to_court"]
)
def test_release_and_disposal(disposal: str) -> None:
    s = one(child().at("+4h", "released", disposal=disposal))
    assert (s.end, s.ended_at, s.disposal) == ("released", "2026-03-01T16:00:00Z", disposal)
    assert (s.transferred_to_la, s.transferred_to_la_at) == (None, None)
    assert s.next_deadline is None
    assert s.updated_at == s.ended_at


def test_an_ended_summary_does_not_move_with_the_clock() -> None:
    ep = child(t0="2026-03-01T18:00:00+00:00").at("+8h", "released")
    assert one(ep, until="+9d") == one(ep)


# --- next deadline --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "until", "alert_id", "due_at"),
    [
        ([], None, "CR1/appropriate_adult/not_requested", "2026-03-01T13:00:00Z"),
        ([("+30m", "appropriate_adult_requested")], None, "CR1/appropriate_adult/not_arrived", "2026-03-01T15:30:00Z"),
        # Once not_requested has fired, the next one is the five-hour warning.
        ([], "+1h30m", "CR1/detention_duration/approaching", "2026-03-01T17:00:00Z"),
        # The twelve-hour stage and the night are both due at 00:00: the alert id breaks the tie.
        ([], "+10h30m", "CR1/detention_duration/prolonged", "2026-03-02T00:00:00Z"),
        ([("+30m", "appropriate_adult_requested"), ("+1h", "appropriate_adult_arrived")], "+12h30m",
         "CR1/detention_limit/approaching/24", "2026-03-02T07:30:00Z"),
    ],
)  # fmt: skip
def test_next_deadline(
    steps: list[tuple[str, str]], until: str | None, alert_id: str, due_at: str
) -> None:
    ep = child()
    for when, kind in steps:
        ep.at(when, kind)
    d = one(ep, until=until).next_deadline
    assert d is not None
    assert (d.alert_id, d.due_at) == (alert_id, due_at)
    assert d.alert_id.startswith(f"CR1/{d.rule}/{d.stage}")


def test_next_deadline_names_rule_and_stage() -> None:
    d = one(child()).next_deadline
    assert d is not None
    assert (d.rule, d.stage) == ("appropriate_adult", "not_requested")


def test_adults_have_no_next_deadline() -> None:
    assert one(child(dob="1990-01-01")).next_deadline is None


# --- the published form ----------------------------------------------------------------------------


def test_summaries_validate_against_the_published_schema() -> None:
    schema = json.loads((ROOT / "schemas" / "episode.v1.schema.json").read_text())
    rich = child(sex="male", looked_after_child=False, t0="2026-03-01T18:00:00+00:00")
    rich.at("+20m", "appropriate_adult_requested").at("+3h", "detention_reviewed")
    rich.at("+4h", "charged").at("+4h5m", "bail_refused").at("+5h", "la_accommodation_requested")
    rich.at("+5h30m", "la_accommodation_response", outcome="refused", reason="no bed")
    rich.at("+6h", "transfer_impracticable_certified")
    rich.at("+7h", "transferred_to_suite", to_suite_id="oldbury").at("+20h", "released")
    adult = Episode("CR2", t0="2026-03-01T19:00:00+00:00", dob="1990-01-01")
    still_open = child("CR3", t0="2026-03-01T20:00:00+00:00")
    found = summaries(rich, adult, still_open, until="+1d")
    assert sorted(found) == ["CR1", "CR2", "CR3"]
    for record in episode_dicts(found.values()):
        jsonschema.validate(record, schema)
        assert (
            EPISODE_ADAPTER.validate_json(json.dumps(record)) == found[record["custody_record_id"]]
        )
