"""Events rebuilt from episode summaries replay to the same alerts and summaries as the
real events, under the current rules and under other thresholds (what the store's
what-if relies on); and the rebuilt date of birth keeps the age at T0."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from builders import Episode

from custodywatch.contract.episodes import EpisodeSummary
from custodywatch.core.config import RuleConfig
from custodywatch.core.episode import age_on
from custodywatch.replay import ReplayResult, decode_file, replay_alerted, replay_summaries
from custodywatch.report.rebuild import birth_date, events_of
from custodywatch.report.sources import runs_from_events, runs_from_summaries
from custodywatch.report.whatif import Run
from custodywatch.report.whatif_settings import Setting, apply_settings
from custodywatch.sim.config import SimConfig
from custodywatch.sim.generator import iter_lines

LINES = [line.encode() for line in iter_lines(SimConfig(seed=5, months=1, detentions=1500))]


def store_of(lines: list[bytes]) -> tuple[ReplayResult, list[EpisodeSummary], datetime]:
    """What the store would hold, and its clock (latest event or alert due time)."""
    result, summaries = replay_summaries(lines, RuleConfig())
    times = [s.updated_at for s in summaries] + [a.due_at for a in result.alerts]
    return result, summaries, max(datetime.fromisoformat(t) for t in times)


def keys(run: Run) -> list[tuple[str, ...]]:
    """What a what-if reads of an alert (its raise time and text may differ: a rebuilt
    episode knows a late date of birth from the start)."""
    return sorted(
        (a.alert_id, a.due_at, a.state, a.suite_id, a.person_ref, a.home_local_authority)
        for a in run.alerts
    )


def by_record(run: Run) -> list[EpisodeSummary]:
    return sorted(run.summaries, key=lambda s: s.custody_record_id)


@pytest.mark.parametrize(
    "settings",
    [
        (),
        (Setting("detention_duration.breach", "4h"),),
        (Setting("juvenile_age", "19"), Setting("criminal_responsibility_age", "12")),
        (Setting("detention_limit.initial_hours", "12"), Setting("review.interval", "2h")),
        (Setting("la_request.missing", "30m"), Setting("la_response.overdue", "1h")),
        (Setting("transfer.overdue", "1h"), Setting("appropriate_adult.not_arrived", "1h")),
        (Setting("time_zones.default", "Asia/Tokyo"), Setting("overnight.window_end", "08:00")),
    ],
    ids=lambda s: ",".join(str(x) for x in s) or "current",
)
def test_rebuilt_events_replay_like_the_real_ones(settings: tuple[Setting, ...]) -> None:
    _, summaries, clock = store_of(LINES)
    rules = (RuleConfig(), apply_settings({}, settings))
    real = runs_from_events(LINES, rules, lambda _: None)
    rebuilt = runs_from_summaries(summaries, clock, rules, lambda _: None)
    for got, want in zip(rebuilt, real, strict=True):
        assert keys(got) == keys(want)
        assert by_record(got) == by_record(want)
    assert keys(real[0]) != keys(real[1]) or not settings  # each scenario changes something


@pytest.mark.parametrize(
    "settings",
    [
        (Setting("juvenile_age", "19"),),
        (Setting("juvenile_age", "16"), Setting("time_zones.default", "Pacific/Kiritimati")),
        (Setting("time_zones.default", "Pacific/Pago_Pago"),),
    ],
    ids=str,
)
def test_replaying_the_childrens_events_only_changes_nothing(
    settings: tuple[Setting, ...],
) -> None:
    """What-if replays the events of episodes that may be a child's; a replay of every
    event gives the same alerts and summaries (zones 14 and 11 hours from UTC)."""
    rule_sets = (RuleConfig(), apply_settings({}, settings))
    fast = runs_from_events(LINES, rule_sets, lambda _: None)
    decoded = decode_file(LINES)
    for run, rules in zip(fast, rule_sets, strict=True):
        result, summaries = replay_alerted(decoded, rules)
        whole = Run(result.alerts, summaries)
        assert keys(run) == keys(whole) and by_record(run) == by_record(whole)
        assert [a.raised_at for a in run.alerts] == [a.raised_at for a in whole.alerts]


def test_a_birthday_a_zone_away() -> None:
    """18 on T0's UTC date, 17 on its local date in Pago Pago (UTC-11): a child there,
    from the events. The store keeps the age at T0 (18), not the date of birth, so from
    the store the age stays 18 under any zone (docs/reports.md says so)."""
    ep = Episode("CR9", t0="2026-03-01T05:00:00+00:00", dob="2008-03-01").at("+7h", "released")
    samoa = apply_settings({}, (Setting("time_zones.default", "Pacific/Pago_Pago"),))
    current, whatif = runs_from_events(ep.lines(), (RuleConfig(), samoa), lambda _: None)
    assert current.alerts == []
    assert {a.rule for a in whatif.alerts} >= {"detention_duration"}
    _, summaries, clock = store_of(ep.lines())
    stored = runs_from_summaries(summaries, clock, (RuleConfig(), samoa), lambda _: None)
    assert [run.alerts for run in stored] == [[], []]


def _hand_made() -> list[bytes]:
    """Children with every kind of fact, each rule firing (the simulator's children are
    seldom extended, or transferred between suites)."""
    extended = Episode("CR1", dob="2010-06-15", appears_under_18=True)
    extended.at("+20m", "appropriate_adult_requested").at("+5h", "appropriate_adult_arrived")
    extended.at("+3h", "detention_reviewed").at("+13h", "detention_reviewed")
    extended.at("+8h", "transferred_to_suite", to_suite_id="oldbury")
    extended.at("+22h", "detention_extended", new_limit_hours=36)
    extended.at("+34h", "detention_extended", new_limit_hours=48)
    extended.at("+40h", "released", disposal="no_further_action")
    refused = Episode("CR2", appears_under_18=False, home_la="sandwell")  # a child, found late
    refused.at("+30m", "charged").at("+1h", "bail_refused").at(
        "+3h", "age_established", date_of_birth="2011-01-02"
    )
    refused.at("+4h", "la_accommodation_requested").at(
        "+5h", "la_accommodation_response", outcome="refused", reason="no bed"
    )
    refused.at("+6h", "la_accommodation_requested", accommodation_type="secure")
    refused.at("+9h", "la_accommodation_response", outcome="accepted")
    refused.at("+12h", "transferred_to_la")
    certified = Episode("CR3", dob="2009-02-28", t0="2026-03-01T21:00:00+00:00")
    certified.at("+10m", "charged").at("+20m", "bail_refused")
    certified.at("+5h", "transfer_impracticable_certified")  # still held at the end
    adult = Episode("CR4", dob="2007-12-01")  # 18: a child only if juvenile_age rises
    adult.at("+7h", "released")
    return [line for ep in (extended, refused, certified, adult) for line in ep.lines()]


@pytest.mark.parametrize(
    "settings",
    [
        (),
        (
            Setting("detention_limit.initial_hours", "20"),
            Setting("detention_limit.warning_before", "3h"),
        ),
        (Setting("juvenile_age", "19"), Setting("review.first", "1h")),
        (Setting("la_response.overdue", "30m"), Setting("transfer.overdue", "1h")),
        (Setting("la_request.exempt_arrest_bases", "[new_offence]"),),
        (Setting("time_zones.default", "Pacific/Pago_Pago"),),
        (
            Setting("time_zones.suites.oldbury", "Asia/Tokyo"),
            Setting("overnight.window_start", "20:00"),
        ),
    ],
    ids=lambda s: ",".join(str(x) for x in s) or "current",
)
def test_every_kind_of_fact_replays_alike(settings: tuple[Setting, ...]) -> None:
    lines = _hand_made()
    result, summaries, clock = store_of(lines)
    assert result.rejects == []
    rules = (RuleConfig(), apply_settings({}, settings))
    real = runs_from_events(lines, rules, lambda _: None)
    rebuilt = runs_from_summaries(summaries, clock, rules, lambda _: None)
    assert [keys(run) for run in rebuilt] == [keys(run) for run in real]
    assert [by_record(run) for run in rebuilt] == [by_record(run) for run in real]
    assert len(keys(real[1])) > 10
    assert {a.rule for a in real[0].alerts} >= {
        "detention_limit",
        "la_refused",
        "la_request_missing",
        "transfer_overdue",
        "review_overdue",
    }


def test_every_fact_becomes_one_event_opening_first_end_last() -> None:
    _, summaries, _ = store_of(_hand_made())
    rules = RuleConfig()
    extended = next(s for s in summaries if s.extensions and s.end is not None)
    events = events_of(extended, rules)
    assert events[0].event_type == "detention_authorised"
    assert events[-1].event_type == extended.end
    kinds = [e.event_type for e in events]
    assert kinds.count("detention_extended") == len(extended.extensions)
    assert kinds.count("detention_reviewed") == len(extended.reviews)
    assert len({e.event_id for e in events}) == len(events)


@pytest.mark.parametrize("age", [0, 9, 10, 15, 17, 18, 40])
def test_the_rebuilt_birth_date_keeps_the_age_a_day_either_side(age: int) -> None:
    day = date(2024, 1, 1)
    while day < date(2026, 1, 1):
        born = birth_date(age, day)
        for shift in (-1, 0, 1):
            assert age_on(born, day + timedelta(days=shift)) == age, (day, shift)
        day += timedelta(days=3)
