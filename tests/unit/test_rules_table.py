"""Every rule and stage of welfare-rules.md, table-driven, read from the spec.

Default T0 is 2026-03-01 12:00 UTC (GMT, so local time == UTC), the child is 15
(DOB 2010-06-15), arrested at T0 - 1h and arrived at T0 - 30m, so the PACE s.41
relevant time is T0 - 30m.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from builders import Episode, due, replay, utc
from builders import offset as ep_offset

T0 = "2026-03-01T12:00:00+00:00"
CHILD_DOB = "2010-06-15"
ADULT_DOB = "1990-01-01"

Step = tuple[str, str, dict[str, Any]]  # (offset from T0, event_type, payload)


@dataclass(frozen=True)
class Case:
    key: str  # alert id without the custody record id
    due: str  # offset from T0
    severity: str
    setup: tuple[Step, ...] = ()
    cancels: tuple[tuple[str, dict[str, Any]], ...] = ()  # besides end of detention
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rule(self) -> str:
        return self.key.split("/")[0]

    @property
    def stage(self) -> str:
        return self.key.split("/")[1]

    @property
    def instance(self) -> str | None:
        parts = self.key.split("/")
        return parts[2] if len(parts) > 2 else None


POST_CHARGE: tuple[Step, ...] = (("+2h", "charged", {}), ("+3h", "bail_refused", {}))
REQUESTED = (*POST_CHARGE, ("+3h30m", "la_accommodation_requested", {}))
RESPONSE_ACCEPTED = ("la_accommodation_response", {"outcome": "accepted"})
RESPONSE_REFUSED = ("la_accommodation_response", {"outcome": "refused", "reason": "no bed"})

CASES: list[Case] = [
    Case("detention_duration/approaching", "+5h", "warning"),
    Case("detention_duration/breach", "+6h", "critical"),
    Case("detention_duration/prolonged", "+12h", "critical"),
    # T0 12:00 -> the first night is 2026-03-02: at_risk 03-01 22:00, overnight 03-02 00:00.
    Case("overnight_hold/at_risk/2026-03-02", "+10h", "warning"),
    Case("overnight_hold/overnight/2026-03-02", "+12h", "critical"),
    Case(
        "appropriate_adult/not_requested",
        "+1h",
        "warning",
        cancels=(("appropriate_adult_requested", {}),),
    ),
    Case(
        "appropriate_adult/not_arrived",
        "+3h30m",
        "warning",
        setup=(("+30m", "appropriate_adult_requested", {}),),
        cancels=(("appropriate_adult_arrived", {}),),
    ),
    Case("review_overdue/overdue/1", "+6h", "warning", cancels=(("detention_reviewed", {}),)),
    Case(
        "review_overdue/overdue/2",
        "+14h",
        "warning",
        setup=(("+5h", "detention_reviewed", {}),),
        cancels=(("detention_reviewed", {}),),
    ),
    Case(
        "review_overdue/overdue/3",
        "+22h",
        "warning",
        setup=(("+5h", "detention_reviewed", {}), ("+13h", "detention_reviewed", {})),
        cancels=(("detention_reviewed", {}),),
    ),
    # relevant time = min(arrived T0-30m, arrested T0-1h + 24h) = T0 - 30m
    Case(
        "detention_limit/approaching/24",
        "+19h30m",
        "warning",
        cancels=(("charged", {}), ("detention_extended", {"new_limit_hours": 36})),
    ),
    Case(
        "detention_limit/limit/24",
        "+23h30m",
        "critical",
        cancels=(("charged", {}), ("detention_extended", {"new_limit_hours": 36})),
    ),
    Case(
        "detention_limit/approaching/36",
        "+31h30m",
        "warning",
        setup=(("+10h", "detention_extended", {"new_limit_hours": 36}),),
        cancels=(("charged", {}), ("detention_extended", {"new_limit_hours": 48})),
    ),
    Case(
        "detention_limit/limit/36",
        "+35h30m",
        "critical",
        setup=(("+10h", "detention_extended", {"new_limit_hours": 36}),),
        cancels=(("charged", {}), ("detention_extended", {"new_limit_hours": 48})),
    ),
    Case(
        "la_request_missing/missing",
        "+4h",
        "critical",
        setup=POST_CHARGE,
        cancels=(("la_accommodation_requested", {}), ("transfer_impracticable_certified", {})),
    ),
    Case(
        "la_request_missing/escalated",
        "+5h",
        "critical",
        setup=POST_CHARGE,
        cancels=(("la_accommodation_requested", {}), ("transfer_impracticable_certified", {})),
    ),
    Case(
        "la_response_overdue/overdue/1",
        "+4h30m",
        "warning",
        setup=REQUESTED,
        cancels=(RESPONSE_ACCEPTED, RESPONSE_REFUSED),
    ),
    Case(
        "la_response_overdue/overdue/2",
        "+5h15m",
        "warning",
        setup=(
            *REQUESTED,
            ("+4h", *RESPONSE_REFUSED),
            ("+4h15m", "la_accommodation_requested", {"accommodation_type": "secure"}),
        ),
        cancels=(RESPONSE_ACCEPTED, RESPONSE_REFUSED),
    ),
    Case("la_refused/refused/1", "+4h", "critical", setup=(*REQUESTED, ("+4h", *RESPONSE_REFUSED))),
    # ordinal among *responses*: the first (accepted) one counts
    Case(
        "la_refused/refused/2",
        "+4h20m",
        "critical",
        setup=(
            *REQUESTED,
            ("+4h", *RESPONSE_ACCEPTED),
            ("+4h10m", "la_accommodation_requested", {"accommodation_type": "secure"}),
            ("+4h20m", *RESPONSE_REFUSED),
        ),
    ),
    Case(
        "transfer_overdue/overdue",
        "+6h",
        "critical",
        setup=(*REQUESTED, ("+4h", *RESPONSE_ACCEPTED)),
        cancels=(("transferred_to_la", {}),),
    ),
]

CANCELLABLE = [(c, et, p) for c in CASES for et, p in c.cancels]
CANCEL_IDS = [
    f"{c.key}-by-{et}" + (f"-{p['outcome']}" if "outcome" in p else "") for c, et, p in CANCELLABLE
]
# Rules whose due time lies after every setup event (so the episode can end before it).
ENDABLE = [c for c in CASES if c.rule != "la_refused"]
ENDS = [("released", {"disposal": "bail"}), ("transferred_to_la", {})]


def build(case: Case, **episode: Any) -> Episode:
    episode.setdefault("dob", CHILD_DOB)
    ep = Episode("CR1", t0=T0, **episode)
    for when, event_type, payload in case.setup:
        ep.at(when, event_type, **payload)
    return ep


def due_of(ep: Episode, case: Case) -> datetime:
    return ep.time(case.due)


def alerts_for(got: Any, case: Case) -> list[tuple[str, datetime]]:
    return [(i, d) for i, d in got.pairs if i == f"CR1/{case.key}"]


# --- fires ---------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.key for c in CASES])
@pytest.mark.parametrize("who", ["dob", "appears_under_18"])
def test_fires_at_due_time_with_id_and_severity(case: Case, who: str) -> None:
    kwargs: dict[str, Any] = (
        {"dob": CHILD_DOB} if who == "dob" else {"dob": None, "appears_under_18": True}
    )
    ep = build(case, **kwargs)
    when = due_of(ep, case)
    got = replay(ep.lines(), until=when + timedelta(hours=1))
    alert = got.one(f"CR1/{case.key}")
    assert due(alert) == when
    assert (alert.rule, alert.stage, alert.instance) == (case.rule, case.stage, case.instance)
    assert alert.severity == case.severity
    assert alert.custody_record_id == "CR1"
    assert alert.person_ref == "P-0001"
    assert alert.home_local_authority == "birmingham"
    assert alert.suite_id == "perry-barr"
    assert alert.summary
    assert "\n" not in alert.summary


@pytest.mark.parametrize("case", CASES, ids=[c.key for c in CASES])
def test_not_fired_before_due(case: Case) -> None:
    ep = build(case)
    got = replay(ep.lines(), until=due_of(ep, case) - timedelta(microseconds=1))
    assert alerts_for(got, case) == []


# --- cancelling events ------------------------------------------------------------


@pytest.mark.parametrize(("case", "event_type", "payload"), CANCELLABLE, ids=CANCEL_IDS)
@pytest.mark.parametrize(
    "delta", ["-1m", "-1s", "+0s"], ids=["1m-early", "1s-early", "exactly-at-due"]
)
def test_cancelling_event_at_or_before_due_cancels(
    case: Case, event_type: str, payload: dict[str, Any], delta: str
) -> None:
    ep = build(case)
    when = due_of(ep, case)
    ep.at(when + ep_offset(delta), event_type, **payload)
    got = replay(ep.lines(), until=when + timedelta(hours=1))
    assert alerts_for(got, case) == []
    assert got.rejects == []


@pytest.mark.parametrize(("case", "event_type", "payload"), CANCELLABLE, ids=CANCEL_IDS)
def test_cancelling_event_one_second_after_due_does_not_cancel(
    case: Case, event_type: str, payload: dict[str, Any]
) -> None:
    ep = build(case)
    when = due_of(ep, case)
    ep.at(when + timedelta(seconds=1), event_type, **payload)
    got = replay(ep.lines(), until=when + timedelta(hours=1))
    assert alerts_for(got, case) == [(f"CR1/{case.key}", when)]


# --- end of detention ---------------------------------------------------------------


@pytest.mark.parametrize("case", ENDABLE, ids=[c.key for c in ENDABLE])
@pytest.mark.parametrize(("end", "payload"), ENDS, ids=[e for e, _ in ENDS])
@pytest.mark.parametrize("delta", [timedelta(minutes=-1), timedelta(0)], ids=["before", "at"])
def test_end_of_detention_at_or_before_due_cancels(
    case: Case, end: str, payload: dict[str, Any], delta: timedelta
) -> None:
    ep = build(case)
    when = due_of(ep, case)
    ep.at(when + delta, end, **payload)
    # Time runs on well past the due time: the ended episode must stay silent.
    got = replay(ep.lines(), until=when + timedelta(days=3))
    assert alerts_for(got, case) == []
    assert all(d < when + delta for _, d in got.pairs), got.pairs


@pytest.mark.parametrize("case", ENDABLE, ids=[c.key for c in ENDABLE])
@pytest.mark.parametrize(("end", "payload"), ENDS, ids=[e for e, _ in ENDS])
def test_end_of_detention_one_second_after_due_does_not_cancel(
    case: Case, end: str, payload: dict[str, Any]
) -> None:
    ep = build(case)
    when = due_of(ep, case)
    ep.at(when + timedelta(seconds=1), end, **payload)
    got = replay(ep.lines(), until=when + timedelta(days=3))
    assert alerts_for(got, case) == [(f"CR1/{case.key}", when)]


# --- adults -------------------------------------------------------------------------


ADULTS: dict[str, dict[str, Any]] = {
    "adult-dob": {"dob": ADULT_DOB},
    "adult-dob-wins-over-appearance": {"dob": ADULT_DOB, "appears_under_18": True},
    "no-dob-appears-adult": {"dob": None, "appears_under_18": False},
    "no-dob-no-appearance": {"dob": None, "appears_under_18": None},
    "exactly-18-on-t0": {"dob": "2008-03-01"},
}


@pytest.mark.parametrize("case", CASES, ids=[c.key for c in CASES])
@pytest.mark.parametrize("adult", list(ADULTS), ids=list(ADULTS))
def test_adults_get_no_alerts(case: Case, adult: str) -> None:
    ep = build(case, **ADULTS[adult])
    got = replay(ep.lines(), until=ep.time("+4d"))
    assert got.pairs == []
    assert got.rejects == []


# --- who is a juvenile ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dob", "appears", "juvenile"),
    [
        ("2008-03-02", None, True),  # turns 18 the day after T0
        ("2008-03-01", None, False),  # 18th birthday on T0's date: an adult
        ("2008-03-01", True, False),  # DOB known: appearance ignored
        ("2008-03-02", False, True),  # DOB known: appearance ignored
        ("2008-02-29", None, False),  # 18 on 2026-02-28 already
        (None, True, True),
        (None, False, False),
        (None, None, False),
    ],
    ids=[
        "17-day-before-birthday",
        "18th-birthday-on-t0",
        "18-appears-under-18",
        "17-appears-adult",
        "born-leap-day-18",
        "no-dob-appears",
        "no-dob-appears-adult",
        "no-dob-unknown",
    ],
)
def test_juvenile_status_is_calendar_age_at_t0(
    dob: str | None, appears: bool | None, juvenile: bool
) -> None:
    ep = Episode("CR1", t0=T0, dob=dob, appears_under_18=appears)
    got = replay(ep.lines(), until=ep.time("+2h"))
    expected = [("CR1/appropriate_adult/not_requested", ep.time("+1h"))] if juvenile else []
    assert got.pairs == expected


def test_calendar_age_uses_the_date_of_t0_not_the_time_elapsed() -> None:
    # Late on the day before the 18th birthday: still 17, whatever the hour.
    ep = Episode("CR1", t0="2026-03-01T23:30:00+00:00", dob="2008-03-02")
    got = replay(ep.lines(), until=ep.time("+1h"))
    assert ("CR1/appropriate_adult/not_requested", ep.time("+1h")) in got.pairs


# --- under_ten ---------------------------------------------------------------------------


def test_under_ten_from_dob_fires_at_t0() -> None:
    ep = Episode("CR1", t0=T0, dob="2016-03-02")  # 9 at T0, 10 the next day
    got = replay(ep.lines(), until=ep.time("+1m"))
    alert = got.one("CR1/under_ten/detained")
    assert due(alert) == ep.t0
    assert alert.severity == "critical"
    assert (alert.rule, alert.stage, alert.instance) == ("under_ten", "detained", None)


def test_under_ten_fires_even_when_replay_ends_at_t0() -> None:
    ep = Episode("CR1", t0=T0, dob="2016-03-02")
    got = replay(ep.lines())  # until defaults to the latest occurred_at, T0
    assert got.pairs == [("CR1/under_ten/detained", ep.t0)]


@pytest.mark.parametrize(
    ("dob", "appears"),
    [("2016-03-01", None), ("2014-01-01", None), (None, True)],
    ids=["tenth-birthday-on-t0", "twelve", "no-dob"],
)
def test_under_ten_not_fired_at_ten_or_over_or_without_dob(dob: str | None, appears: bool) -> None:
    ep = Episode("CR1", t0=T0, dob=dob, appears_under_18=appears)
    got = replay(ep.lines(), until=ep.time("+2d"))
    assert got.matching("CR1/under_ten") == []
    assert got.matching("CR1/appropriate_adult/not_requested")  # but a juvenile


@pytest.mark.parametrize(
    ("dob", "appears"),
    [("2012-05-05", None), (None, True), (ADULT_DOB, None), (None, None)],
    ids=["from-13", "from-unknown-appears-juvenile", "from-adult", "from-unknown"],
)
def test_under_ten_via_age_established_fires_at_once_with_due_t0(
    dob: str | None, appears: bool | None
) -> None:
    ep = Episode("CR1", t0=T0, dob=dob, appears_under_18=appears)
    ep.at("+3h", "age_established", date_of_birth="2017-01-01")
    got = replay(ep.lines())  # until = +3h, the age_established itself
    alert = got.one("CR1/under_ten/detained")
    assert due(alert) == ep.t0
    assert alert.severity == "critical"


def test_under_ten_fires_once_even_after_several_age_established() -> None:
    ep = Episode("CR1", t0=T0, dob="2016-06-01")
    ep.at("+1h", "age_established", date_of_birth="2017-01-01")
    ep.at("+2h", "age_established", date_of_birth="2016-12-01")
    got = replay(ep.lines(), until=ep.time("+3h"))
    assert got.matching("CR1/under_ten") == [("CR1/under_ten/detained", ep.t0)]


# --- age_established ------------------------------------------------------------------------


def test_adult_to_juvenile_fires_past_deadlines_with_original_due_at() -> None:
    ep = Episode("CR1", t0=T0, dob=ADULT_DOB)
    ep.at("+7h", "age_established", date_of_birth="2010-01-01")
    got = replay(ep.lines())  # until = +7h: "fire at once"
    assert sorted(got.pairs, key=lambda p: (p[1], p[0])) == [
        ("CR1/appropriate_adult/not_requested", ep.time("+1h")),
        ("CR1/detention_duration/approaching", ep.time("+5h")),
        ("CR1/detention_duration/breach", ep.time("+6h")),
        ("CR1/review_overdue/overdue/1", ep.time("+6h")),
    ]
    for alert in got.alerts:
        assert alert.raised_at is not None


def test_adult_to_juvenile_respects_cancelling_events_already_seen() -> None:
    ep = Episode("CR1", t0=T0, dob=ADULT_DOB)
    ep.at("+30m", "appropriate_adult_requested")  # before its deadline: cancels not_requested
    ep.at("+2h", "appropriate_adult_arrived")
    ep.at("+5h", "detention_reviewed")  # review 1 in time; review 2 due +14h
    ep.at("+7h", "age_established", date_of_birth="2010-01-01")
    got = replay(ep.lines(), until=ep.time("+7h"))
    assert {i for i, _ in got.pairs} == {
        "CR1/detention_duration/approaching",
        "CR1/detention_duration/breach",
    }


def test_adult_to_juvenile_fires_past_overnight_nights_and_limit() -> None:
    ep = Episode("CR1", t0="2026-03-01T18:00:00+00:00", dob=ADULT_DOB)
    ep.at("+2d", "age_established", date_of_birth="2010-01-01")
    got = replay(ep.lines())
    overnight = got.matching("CR1/overnight_hold/")
    assert sorted(overnight, key=lambda p: p[1]) == [
        ("CR1/overnight_hold/at_risk/2026-03-02", utc("2026-03-01T22:00")),
        ("CR1/overnight_hold/overnight/2026-03-02", utc("2026-03-02T00:00")),
        ("CR1/overnight_hold/at_risk/2026-03-03", utc("2026-03-02T22:00")),
        ("CR1/overnight_hold/overnight/2026-03-03", utc("2026-03-03T00:00")),
    ]
    assert ("CR1/detention_limit/limit/24", ep.time("+23h30m")) in got.pairs


def test_juvenile_to_adult_cancels_every_pending_deadline() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)
    ep.at("+2h", "age_established", date_of_birth=ADULT_DOB)
    got = replay(ep.lines(), until=ep.time("+5d"))
    # The alert raised at +1h is retracted: the rule never applied to an adult.
    assert got.pairs == []
    assert got.states("CR1/appropriate_adult/not_requested") == ["raised", "retracted"]


def test_juvenile_by_appearance_to_adult_by_dob_cancels() -> None:
    ep = Episode("CR1", t0=T0, dob=None, appears_under_18=True)
    ep.at("+30m", "age_established", date_of_birth="2008-03-01")  # 18 on T0's date
    got = replay(ep.lines(), until=ep.time("+5d"))
    assert got.pairs == []


def test_juvenile_to_adult_exactly_at_due_cancels_it() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)
    ep.at("+5h", "age_established", date_of_birth=ADULT_DOB)
    got = replay(ep.lines(), until=ep.time("+1d"))
    assert got.matching("CR1/detention_duration") == []


def test_juvenile_adult_juvenile_fires_each_alert_once() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)
    ep.at("+5h30m", "age_established", date_of_birth=ADULT_DOB)
    ep.at("+7h", "age_established", date_of_birth="2011-01-01")
    got = replay(ep.lines(), until=ep.time("+7h"))
    assert len(got.ids) == len(set(got.ids))
    # `approaching` was retracted at +5h30m and its id is spent (fires once, ever);
    # the breach fires when the second correction makes the child a child again.
    assert got.matching("CR1/detention_duration") == [
        ("CR1/detention_duration/breach", ep.time("+6h")),
    ]
    assert got.states("CR1/detention_duration/approaching") == ["raised", "retracted"]


def test_not_arrived_counts_from_the_first_request() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)
    ep.at("+30m", "appropriate_adult_requested").at("+2h", "appropriate_adult_requested")
    got = replay(ep.lines(), until=ep.time("+6h"))
    assert got.matching("CR1/appropriate_adult") == [
        ("CR1/appropriate_adult/not_arrived", ep.time("+3h30m")),
    ]


def test_request_after_its_deadline_still_arms_not_arrived() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB).at("+2h", "appropriate_adult_requested")
    got = replay(ep.lines(), until=ep.time("+6h"))
    assert got.matching("CR1/appropriate_adult") == [
        ("CR1/appropriate_adult/not_requested", ep.time("+1h")),
        ("CR1/appropriate_adult/not_arrived", ep.time("+5h")),
    ]


# --- review_overdue ------------------------------------------------------------------------


def test_late_review_still_starts_the_next_interval() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)
    ep.at("+8h", "detention_reviewed")  # 2h late: review 1 overdue at +6h
    got = replay(ep.lines(), until=ep.time("+20h"))
    assert got.matching("CR1/review_overdue") == [
        ("CR1/review_overdue/overdue/1", ep.time("+6h")),
        ("CR1/review_overdue/overdue/2", ep.time("+17h")),
    ]


def test_early_review_brings_the_next_one_forward() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)
    ep.at("+2h", "detention_reviewed")
    got = replay(ep.lines(), until=ep.time("+12h"))
    assert got.matching("CR1/review_overdue") == [
        ("CR1/review_overdue/overdue/2", ep.time("+11h")),
    ]


def test_reviews_one_two_three_in_a_long_detention() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)
    got = replay(ep.lines(), until=ep.time("+30h"))
    # No review ever: review 1 overdue; no review 1 means no "time of review 1" to count from.
    assert got.matching("CR1/review_overdue") == [
        ("CR1/review_overdue/overdue/1", ep.time("+6h")),
    ]
    ep.at("+7h", "detention_reviewed").at("+17h", "detention_reviewed")
    got = replay(ep.lines(), until=ep.time("+30h"))
    assert got.matching("CR1/review_overdue") == [
        ("CR1/review_overdue/overdue/1", ep.time("+6h")),
        ("CR1/review_overdue/overdue/2", ep.time("+16h")),
        ("CR1/review_overdue/overdue/3", ep.time("+26h")),
    ]


# --- detention_limit -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arrested", "arrived", "relevant"),
    [
        ("-1h", "-30m", "-30m"),  # arrived first
        ("-30h", "-1h", "-6h"),  # arrested_at + 24h is earlier than arrival
        ("-24h", "-1m", "-1m"),  # arrest + 24h = T0, arrival a minute earlier
        ("-26h", "-2h", "-2h"),  # arrest + 24h == arrival
    ],
    ids=["arrival", "arrest-plus-24h", "arrival-just-inside-24h", "tie"],
)
def test_detention_limit_counts_from_relevant_time(
    arrested: str, arrived: str, relevant: str
) -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB, arrested_at=arrested, arrived_at=arrived)
    rt = ep.time(relevant)
    got = replay(ep.lines(), until=ep.time("+2d"))
    assert got.matching("CR1/detention_limit") == [
        ("CR1/detention_limit/approaching/24", rt + timedelta(hours=20)),
        ("CR1/detention_limit/limit/24", rt + timedelta(hours=24)),
    ]
    assert got.one("CR1/detention_limit/approaching/24").severity == "warning"
    assert got.one("CR1/detention_limit/limit/24").severity == "critical"


def test_relevant_time_uses_utc_instants_of_offset_timestamps() -> None:
    ep = Episode(
        "CR1",
        t0="2026-07-01T12:00:00+01:00",
        dob=CHILD_DOB,
        arrested_at="2026-07-01T10:00:00+01:00",
        arrived_at="2026-07-01T10:30:00Z",  # 11:30 BST, after arrest
    )
    got = replay(ep.lines(), until=ep.time("+2d"))
    assert got.matching("CR1/detention_limit/limit") == [
        ("CR1/detention_limit/limit/24", utc("2026-07-02T10:30")),
    ]


def test_extension_before_approaching_replaces_24_with_36() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)  # relevant time T0 - 30m
    ep.at("+10h", "detention_extended", new_limit_hours=36)
    got = replay(ep.lines(), until=ep.time("+3d"))
    assert got.matching("CR1/detention_limit") == [
        ("CR1/detention_limit/approaching/36", ep.time("+31h30m")),
        ("CR1/detention_limit/limit/36", ep.time("+35h30m")),
    ]


def test_extension_between_stages_keeps_fired_approaching_and_cancels_limit() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)
    ep.at("+21h", "detention_extended", new_limit_hours=36)
    got = replay(ep.lines(), until=ep.time("+3d"))
    assert got.matching("CR1/detention_limit") == [
        ("CR1/detention_limit/approaching/24", ep.time("+19h30m")),
        ("CR1/detention_limit/approaching/36", ep.time("+31h30m")),
        ("CR1/detention_limit/limit/36", ep.time("+35h30m")),
    ]


def test_second_extension_cancels_the_first_extension_stages() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)
    ep.at("+10h", "detention_extended", new_limit_hours=36)
    ep.at("+30h", "detention_extended", new_limit_hours=96)
    got = replay(ep.lines(), until=ep.time("+5d"))
    assert got.matching("CR1/detention_limit") == [
        ("CR1/detention_limit/approaching/96", ep.time("+91h30m")),
        ("CR1/detention_limit/limit/96", ep.time("+95h30m")),
    ]


def test_charge_cancels_extended_limit_too() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)
    ep.at("+10h", "detention_extended", new_limit_hours=36).at("+30h", "charged")
    got = replay(ep.lines(), until=ep.time("+3d"))
    assert got.matching("CR1/detention_limit") == []


def test_charge_does_not_cancel_other_rules() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB).at("+30m", "charged")
    got = replay(ep.lines(), until=ep.time("+7h"))
    assert {i for i, _ in got.pairs} >= {
        "CR1/detention_duration/breach",
        "CR1/review_overdue/overdue/1",
        "CR1/appropriate_adult/not_requested",
    }


# --- la_request_missing --------------------------------------------------------------------------


@pytest.mark.parametrize("basis", ["warrant", "breach_of_bail", "court_remand"])
def test_la_request_missing_exempt_arrest_bases(basis: str) -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB, arrest_basis=basis)
    ep.at("+2h", "charged").at("+3h", "bail_refused")
    got = replay(ep.lines(), until=ep.time("+10h"))
    assert got.matching("CR1/la_request_missing") == []
    assert got.matching("CR1/detention_duration/breach")  # still a tracked juvenile


@pytest.mark.parametrize("basis", ["new_offence", "other"])
def test_la_request_missing_applies_to_other_bases(basis: str) -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB, arrest_basis=basis)
    ep.at("+2h", "charged").at("+3h", "bail_refused")
    got = replay(ep.lines(), until=ep.time("+10h"))
    assert got.matching("CR1/la_request_missing") == [
        ("CR1/la_request_missing/missing", ep.time("+4h")),
        ("CR1/la_request_missing/escalated", ep.time("+5h")),
    ]


def test_la_request_missing_counts_from_first_bail_refused() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)
    ep.at("+3h", "bail_refused").at("+3h30m", "bail_refused")
    got = replay(ep.lines(), until=ep.time("+10h"))
    assert got.matching("CR1/la_request_missing") == [
        ("CR1/la_request_missing/missing", ep.time("+4h")),
        ("CR1/la_request_missing/escalated", ep.time("+5h")),
    ]


def test_la_request_between_stages_cancels_only_escalated() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)
    ep.at("+3h", "bail_refused").at("+4h30m", "la_accommodation_requested")
    got = replay(ep.lines(), until=ep.time("+10h"))
    assert got.matching("CR1/la_request_missing") == [
        ("CR1/la_request_missing/missing", ep.time("+4h")),
    ]


def test_no_la_request_missing_without_bail_refused() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB).at("+2h", "charged")
    got = replay(ep.lines(), until=ep.time("+10h"))
    assert got.matching("CR1/la_") == []


# --- la_response_overdue / la_refused / transfer_overdue -----------------------------------------------


def test_la_response_overdue_per_request_number() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)
    ep.at("+3h", "bail_refused")
    ep.at("+3h10m", "la_accommodation_requested")  # request 1: never answered in time
    ep.at("+4h20m", "la_accommodation_response", outcome="refused")
    ep.at("+4h30m", "la_accommodation_requested", local_authority="sandwell")  # request 2
    ep.at("+5h", "la_accommodation_response", local_authority="sandwell", outcome="refused")
    ep.at("+5h10m", "la_accommodation_requested", local_authority="walsall")  # request 3
    got = replay(ep.lines(), until=ep.time("+8h"))
    assert got.matching("CR1/la_response_overdue") == [
        ("CR1/la_response_overdue/overdue/1", ep.time("+4h10m")),
        ("CR1/la_response_overdue/overdue/3", ep.time("+6h10m")),
    ]
    assert all(got.one(i).severity == "warning" for i, _ in got.matching("CR1/la_response"))


def test_la_refused_instance_is_ordinal_among_responses() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)
    ep.at("+3h", "bail_refused").at("+3h10m", "la_accommodation_requested")
    ep.at("+3h20m", "la_accommodation_response", outcome="refused")
    ep.at("+3h30m", "la_accommodation_requested", local_authority="sandwell")
    ep.at("+3h40m", "la_accommodation_response", local_authority="sandwell", outcome="accepted")
    ep.at("+3h50m", "la_accommodation_requested", local_authority="walsall")
    ep.at("+4h", "la_accommodation_response", local_authority="walsall", outcome="refused")
    got = replay(ep.lines(), until=ep.time("+4h10m"))
    assert got.matching("CR1/la_refused") == [
        ("CR1/la_refused/refused/1", ep.time("+3h20m")),
        ("CR1/la_refused/refused/3", ep.time("+4h")),
    ]
    assert got.one("CR1/la_refused/refused/3").severity == "critical"


def test_transfer_overdue_counts_from_accepting_response() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)
    ep.at("+3h", "bail_refused").at("+3h10m", "la_accommodation_requested")
    ep.at("+3h20m", "la_accommodation_response", outcome="refused")
    ep.at("+3h30m", "la_accommodation_requested", local_authority="sandwell")
    ep.at("+3h40m", "la_accommodation_response", local_authority="sandwell", outcome="accepted")
    got = replay(ep.lines(), until=ep.time("+8h"))
    assert got.matching("CR1/transfer_overdue") == [
        ("CR1/transfer_overdue/overdue", ep.time("+5h40m")),
    ]
    assert got.one("CR1/transfer_overdue/overdue").severity == "critical"


def test_transfer_to_la_in_time_gives_no_transfer_alert() -> None:
    ep = Episode("CR1", t0=T0, dob=CHILD_DOB)
    ep.at("+3h", "bail_refused").at("+3h10m", "la_accommodation_requested")
    ep.at("+3h40m", "la_accommodation_response", outcome="accepted")
    ep.at("+5h40m", "transferred_to_la")
    got = replay(ep.lines(), until=ep.time("+1d"))
    assert got.matching("CR1/transfer_overdue") == []
    assert got.matching("CR1/la_") == []


# --- overnight_hold ----------------------------------------------------------------------------------


def overnight(got: Any) -> list[tuple[str, datetime]]:
    return sorted(got.matching("CR1/overnight_hold/"), key=lambda p: (p[1], p[0]))


@pytest.mark.parametrize(
    ("t0", "release", "expected"),
    [
        (
            "2026-03-01T18:00:00+00:00",
            "2026-03-02T05:00:00+00:00",
            [
                ("at_risk/2026-03-02", "2026-03-01T22:00"),
                ("overnight/2026-03-02", "2026-03-02T00:00"),
            ],
        ),
        (
            "2026-03-01T23:00:00+00:00",
            "2026-03-02T05:00:00+00:00",
            [
                ("at_risk/2026-03-02", "2026-03-01T23:00"),  # max(T0, 22:00)
                ("overnight/2026-03-02", "2026-03-02T00:00"),
            ],
        ),
        (
            "2026-03-01T22:00:00+00:00",
            "2026-03-02T05:00:00+00:00",
            [
                ("at_risk/2026-03-02", "2026-03-01T22:00"),
                ("overnight/2026-03-02", "2026-03-02T00:00"),
            ],
        ),
        (
            "2026-03-02T03:00:00+00:00",
            "2026-03-02T12:00:00+00:00",
            [("overnight/2026-03-02", "2026-03-02T03:00")],  # T0 inside the window
        ),
        (
            "2026-03-02T00:00:00+00:00",
            "2026-03-02T12:00:00+00:00",
            [("overnight/2026-03-02", "2026-03-02T00:00")],  # T0 not before D 00:00: no at_risk
        ),
        (
            "2026-03-02T07:00:00+00:00",
            "2026-03-03T05:00:00+00:00",
            [
                ("at_risk/2026-03-03", "2026-03-02T22:00"),
                ("overnight/2026-03-03", "2026-03-03T00:00"),
            ],
        ),
        (
            "2026-03-02T06:00:00+00:00",  # D 06:00 is not *after* T0: first night is the next
            "2026-03-03T05:00:00+00:00",
            [
                ("at_risk/2026-03-03", "2026-03-02T22:00"),
                ("overnight/2026-03-03", "2026-03-03T00:00"),
            ],
        ),
        (
            "2026-03-02T05:59:59+00:00",
            "2026-03-02T12:00:00+00:00",
            [("overnight/2026-03-02", "2026-03-02T05:59:59")],
        ),
        (
            "2026-03-01T18:00:00+00:00",
            "2026-03-01T23:30:00+00:00",  # released before midnight
            [("at_risk/2026-03-02", "2026-03-01T22:00")],
        ),
        (
            "2026-03-01T18:00:00+00:00",
            "2026-03-02T00:00:00+00:00",  # released exactly at midnight: cancels overnight
            [("at_risk/2026-03-02", "2026-03-01T22:00")],
        ),
        (
            "2026-03-01T18:00:00+00:00",
            "2026-03-01T22:00:00+00:00",  # released exactly at 22:00: nothing
            [],
        ),
        (
            "2026-03-01T08:00:00+00:00",
            "2026-03-01T21:59:59+00:00",
            [],
        ),
        (
            "2026-03-01T18:00:00+00:00",
            "2026-03-04T12:00:00+00:00",  # three nights
            [
                ("at_risk/2026-03-02", "2026-03-01T22:00"),
                ("overnight/2026-03-02", "2026-03-02T00:00"),
                ("at_risk/2026-03-03", "2026-03-02T22:00"),
                ("overnight/2026-03-03", "2026-03-03T00:00"),
                ("at_risk/2026-03-04", "2026-03-03T22:00"),
                ("overnight/2026-03-04", "2026-03-04T00:00"),
            ],
        ),
        (
            "2026-03-02T03:00:00+00:00",
            "2026-03-03T12:00:00+00:00",  # from inside one night to the next
            [
                ("overnight/2026-03-02", "2026-03-02T03:00"),
                ("at_risk/2026-03-03", "2026-03-02T22:00"),
                ("overnight/2026-03-03", "2026-03-03T00:00"),
            ],
        ),
        # BST: local = UTC + 1
        (
            "2026-07-01T18:00:00+01:00",
            "2026-07-02T05:00:00+01:00",
            [
                ("at_risk/2026-07-02", "2026-07-01T21:00"),
                ("overnight/2026-07-02", "2026-07-01T23:00"),
            ],
        ),
        (
            "2026-07-01T23:30:00+00:00",  # 00:30 BST on 2 July: inside night 2026-07-02
            "2026-07-02T11:00:00+00:00",
            [("overnight/2026-07-02", "2026-07-01T23:30")],
        ),
        (
            "2026-07-02T05:30:00+00:00",  # 06:30 BST: night 2026-07-02 is over
            "2026-07-03T11:00:00+00:00",
            [
                ("at_risk/2026-07-03", "2026-07-02T21:00"),
                ("overnight/2026-07-03", "2026-07-02T23:00"),
            ],
        ),
        # Spring forward: Sunday 2026-03-29, 01:00 GMT -> 02:00 BST
        (
            "2026-03-28T18:00:00+00:00",
            "2026-03-30T12:00:00+01:00",
            [
                ("at_risk/2026-03-29", "2026-03-28T22:00"),  # 22:00 GMT
                ("overnight/2026-03-29", "2026-03-29T00:00"),  # 00:00 GMT
                ("at_risk/2026-03-30", "2026-03-29T21:00"),  # 22:00 BST
                ("overnight/2026-03-30", "2026-03-29T23:00"),  # 00:00 BST
            ],
        ),
        (
            "2026-03-29T05:30:00+00:00",  # 06:30 BST on the short night: it is over
            "2026-03-30T12:00:00+01:00",
            [
                ("at_risk/2026-03-30", "2026-03-29T21:00"),
                ("overnight/2026-03-30", "2026-03-29T23:00"),
            ],
        ),
        (
            "2026-03-29T04:30:00+00:00",  # 05:30 BST: still inside night 2026-03-29
            "2026-03-29T12:00:00+01:00",
            [("overnight/2026-03-29", "2026-03-29T04:30")],
        ),
        # Fall back: Sunday 2026-10-25, 02:00 BST -> 01:00 GMT
        (
            "2026-10-24T18:00:00+01:00",
            "2026-10-26T12:00:00+00:00",
            [
                ("at_risk/2026-10-25", "2026-10-24T21:00"),  # 22:00 BST
                ("overnight/2026-10-25", "2026-10-24T23:00"),  # 00:00 BST
                ("at_risk/2026-10-26", "2026-10-25T22:00"),  # 22:00 GMT
                ("overnight/2026-10-26", "2026-10-26T00:00"),  # 00:00 GMT
            ],
        ),
        (
            "2026-10-25T05:30:00+00:00",  # 05:30 GMT: inside the long night 2026-10-25
            "2026-10-25T12:00:00+00:00",
            [("overnight/2026-10-25", "2026-10-25T05:30")],
        ),
        (
            "2026-10-25T06:00:00+00:00",  # 06:00 GMT: the long night is over
            "2026-10-26T12:00:00+00:00",
            [
                ("at_risk/2026-10-26", "2026-10-25T22:00"),
                ("overnight/2026-10-26", "2026-10-26T00:00"),
            ],
        ),
    ],
    ids=[
        "t0-18h",
        "t0-23h-at-risk-at-t0",
        "t0-exactly-22h",
        "t0-03h-overnight-at-t0",
        "t0-exactly-midnight",
        "t0-07h-next-night",
        "t0-exactly-06h-next-night",
        "t0-05h59m59s",
        "released-23h30",
        "released-exactly-midnight",
        "released-exactly-22h",
        "day-only",
        "three-nights",
        "inside-window-then-next-night",
        "bst-18h",
        "bst-local-date-names-night",
        "bst-after-window",
        "dst-spring-forward",
        "dst-spring-t0-after-short-night",
        "dst-spring-t0-inside-short-night",
        "dst-fall-back",
        "dst-fall-t0-inside-long-night",
        "dst-fall-t0-after-long-night",
    ],
)
def test_overnight_hold(t0: str, release: str, expected: list[tuple[str, str]]) -> None:
    ep = Episode("CR1", t0=t0, dob=CHILD_DOB)
    ep.at(release, "released")
    got = replay(ep.lines(), until=ep.time(release) + timedelta(days=2))
    want = sorted(
        ((f"CR1/overnight_hold/{key}", utc(at)) for key, at in expected), key=lambda p: (p[1], p[0])
    )
    assert overnight(got) == want
    for alert_id, _ in want:
        severity = "warning" if "/at_risk/" in alert_id else "critical"
        assert got.one(alert_id).severity == severity
        assert got.one(alert_id).instance == alert_id.rsplit("/", 1)[1]
