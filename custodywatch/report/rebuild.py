"""An episode's events rebuilt from its summary, so the store's history can be replayed
under other thresholds (`custodywatch whatif --store`).

The store keeps each episode's summary, not its events. A summary holds every fact
the rules read, as the times the engine keeps (the earliest charge, every review,
request, response and extension, the suites, the end), so replaying the events
rebuilt here gives the episode the same state as its real events did, under any
rules. Two facts are kept in another form:

- the date of birth as the age at T0: the rebuilt date of birth is half a year from a
  birthday, so the age at T0 stays the stored one even under time zones that move T0's
  local date by a day (from the events, a child whose birthday falls that day would
  change age); without an age, `appears_under_18` is the summary's `juvenile`;
- free text the rules never read (a review's rank, the reason a transfer was
  impracticable, the offences charged) is left out or given a fixed placeholder.

Pure: summaries and rules in, events out; uses the contract and the core's clock only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from custodywatch.contract import events as ev
from custodywatch.contract.episodes import EpisodeSummary
from custodywatch.core.clock import local_date, to_us
from custodywatch.core.config import RuleConfig

_HALF_YEAR = timedelta(days=182)
_PLACEHOLDER = "not kept by the store"

Ordered = tuple[int, int, ev.CustodyEvent]
"""(sort time, sequence, event): replay's order."""


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def birth_date(age: int, t0_local: date) -> date:
    """A date of birth giving `age` on `t0_local`, half a year from a birthday."""
    birthday = date(t0_local.year - age, t0_local.month, min(t0_local.day, 28))
    return birthday - _HALF_YEAR


def _event(model: type[ev._Envelope], s: EpisodeSummary, n: int, at: datetime, **kw: Any) -> Any:
    # Built without validation: every value comes from a summary the store validated.
    return model.model_construct(
        schema_version=1,
        event_id=f"{s.custody_record_id}/rebuilt/{n}",
        custody_record_id=s.custody_record_id,
        occurred_at=at,
        recorded_at=None,
        source=None,
        **kw,
    )


def _opening(s: EpisodeSummary, rules: RuleConfig) -> ev.DetentionAuthorised:
    suite = s.suites[0].suite_id if s.suites else s.suite_id
    t0 = _at(s.detention_authorised_at)
    born = None
    if s.age_at_t0 is not None:
        born = birth_date(s.age_at_t0, local_date(to_us(t0), rules.time_zones.for_suite(suite)))
    detainee = ev.Detainee.model_construct(
        person_ref=s.person_ref,
        date_of_birth=born,
        appears_under_18=s.juvenile if born is None else None,
        looked_after_child=s.looked_after_child,
        sex=s.sex,
    )
    payload = ev.DetentionAuthorisedPayload.model_construct(
        detainee=detainee,
        arrested_at=_at(s.arrested_at),
        arrived_at=_at(s.arrived_at),
        arrest_basis=ev.ArrestBasis(s.arrest_basis),
        offence_category=s.offence_category,
        home_local_authority=s.home_local_authority,
    )
    kind = "detention_authorised"
    built: ev.DetentionAuthorised = _event(
        ev.DetentionAuthorised, s, 0, t0, suite_id=suite, event_type=kind, payload=payload
    )
    return built


def _facts(s: EpisodeSummary) -> list[tuple[str, type[ev._Envelope], str, Any]]:
    """(time, model, event type, payload) of every fact after the opening, end excluded."""
    empty = ev.Empty.model_construct()
    facts: list[tuple[str, type[ev._Envelope], str, Any]] = []

    def add(at: str | None, model: type[ev._Envelope], kind: str, payload: Any = empty) -> None:
        if at is not None:
            facts.append((at, model, kind, payload))

    add(
        s.appropriate_adult_requested_at,
        ev.AppropriateAdultRequested,
        "appropriate_adult_requested",
    )
    add(s.appropriate_adult_arrived_at, ev.AppropriateAdultArrived, "appropriate_adult_arrived")
    for at in s.reviews:
        add(at, ev.DetentionReviewed, "detention_reviewed", ev.DetentionReviewedPayload())
    for x in s.extensions:
        extended = ev.DetentionExtendedPayload.model_construct(new_limit_hours=x.new_limit_hours)
        add(x.extended_at, ev.DetentionExtended, "detention_extended", extended)
    add(s.charged_at, ev.Charged, "charged", ev.ChargedPayload())
    add(s.bail_refused_at, ev.BailRefused, "bail_refused")
    for r in s.la_requests:
        request = ev.LaAccommodationRequestedPayload.model_construct(
            local_authority=r.local_authority, accommodation_type=r.accommodation_type
        )
        add(r.requested_at, ev.LaAccommodationRequested, "la_accommodation_requested", request)
    for a in s.la_responses:
        response = ev.LaAccommodationResponsePayload.model_construct(
            local_authority=a.local_authority, outcome=a.outcome, reason=a.reason
        )
        add(a.responded_at, ev.LaAccommodationResponse, "la_accommodation_response", response)
    impracticable = ev.TransferImpracticablePayload.model_construct(reason=_PLACEHOLDER)
    add(
        s.transfer_impracticable_at,
        ev.TransferImpracticableCertified,
        "transfer_impracticable_certified",
        impracticable,
    )
    for stay in s.suites[1:]:
        moved = ev.TransferredToSuitePayload.model_construct(to_suite_id=stay.suite_id)
        add(stay.since, ev.TransferredToSuite, "transferred_to_suite", moved)
    return facts


def _ending(s: EpisodeSummary) -> tuple[str, type[ev._Envelope], str, Any] | None:
    if s.ended_at is None or s.end is None:
        return None
    if s.end == "released":
        disposal = ev.Disposal(s.disposal or ev.Disposal.OTHER.value)
        return (
            s.ended_at,
            ev.Released,
            "released",
            ev.ReleasedPayload.model_construct(disposal=disposal),
        )
    la = s.transferred_to_la or s.home_local_authority
    payload = ev.TransferredToLaPayload.model_construct(local_authority=la)
    return s.ended_at, ev.TransferredToLa, "transferred_to_la", payload


def events_of(s: EpisodeSummary, rules: RuleConfig) -> list[ev.CustodyEvent]:
    """The episode's events: the opening first, the end last (`rebuilt_events` puts them
    in time order).

    `rules`: the rules the summary was made with (their time zones date T0)."""
    opening = _opening(s, rules)
    facts = _facts(s)
    ending = _ending(s)
    if ending is not None:
        facts.append(ending)
    built: list[ev.CustodyEvent] = [opening]
    for n, (at, model, kind, payload) in enumerate(facts, start=1):
        suite = opening.suite_id
        built.append(_event(model, s, n, _at(at), suite_id=suite, event_type=kind, payload=payload))
    return built


def rebuilt_events(summaries: Iterable[EpisodeSummary], rules: RuleConfig) -> list[Ordered]:
    """Every episode's events in replay order: by time, an episode's opening before its
    facts (a fact a live worker took before T0 is applied after the opening, as there)
    and its end after every fact at the same instant."""
    ordered: list[Ordered] = []
    for s in summaries:
        events = events_of(s, rules)
        t0 = to_us(events[0].occurred_at)
        for event in events:
            ordered.append((max(to_us(event.occurred_at), t0), len(ordered) + 1, event))
    ordered.sort(key=lambda item: (item[0], item[1]))
    return ordered
