"""An episode's facts as the published summary (`custody.episodes.v1`). Pure.

The rules core computes the summary from the same state the rules read, so no
adapter re-interprets events. Nights follow the `overnight_hold` rule exactly:
a night is counted when that rule's `overnight` stage would be due for it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from custodywatch.contract.episodes import (
    AgeBand,
    EpisodeSummary,
    Extension,
    LaRequest,
    LaResponse,
    NextDeadline,
    Night,
    SuiteStay,
)
from custodywatch.core.clock import iso, local_date, local_instant
from custodywatch.core.config import RuleConfig
from custodywatch.core.episode import Episode
from custodywatch.core.rules import pending_deadlines

_ONE_DAY = timedelta(days=1)


def age_band(age: int | None) -> AgeBand:
    if age is None:
        return "unknown"
    if age < 10:
        return "under 10"
    if age < 14:
        return "10-13"
    if age < 16:
        return "14-15"
    if age < 18:
        return "16-17"
    return "18 and over"


def nights_held(ep: Episode, rules: RuleConfig, until: int, ended: bool) -> tuple[Night, ...]:
    """Nights whose window the person was held in, from T0 to `until`.

    Night D (named by the local date of its 00:00) counts when max(T0, D window
    start) is before the end (ended) or at or before `until` (still held): the
    time at which `overnight_hold/overnight/D` is due, and an end at that very
    time cancels it. The first night considered is the first whose window ends
    after T0. Local times are in the zone of the suite at T0 (DST-aware).
    """
    o, zone, t0, charged = rules.overnight, ep.zone, ep.t0, ep.charged
    night = local_date(t0, zone)
    if local_instant(night, o.window_end, zone) <= t0:
        night += _ONE_DAY
    nights: list[Night] = []
    while True:
        held_from = max(t0, local_instant(night, o.window_start, zone))
        if held_from > until or (ended and held_from == until):
            return tuple(nights)
        pre_charge = charged is None or charged > held_from
        nights.append(Night(night=night.isoformat(), pre_charge=pre_charge))
        night += _ONE_DAY


def _next_deadline(ep: Episode, rules: RuleConfig) -> NextDeadline | None:
    if ep.ended is not None:
        return None  # the end cancelled every rule
    pending = pending_deadlines(ep, rules)  # empty for adults
    if not pending:
        return None
    d = min(pending, key=lambda d: (d.due, d.key))
    return NextDeadline(
        alert_id=f"{ep.record_id}/{d.key}", rule=d.rule, stage=d.stage, due_at=iso(d.due)
    )


def _iso(us: int | None) -> str | None:
    return None if us is None else iso(us)


def summarise_episode(ep: Episode, rules: RuleConfig, as_of: int | None = None) -> EpisodeSummary:
    """The summary of `ep`, open or just ended (`ep.ended` set by its closing event).

    `as_of`: the clock of the caller (event time, or the wall clock live), up to
    which an open episode's nights are counted; never earlier than its latest
    event. Ignored once the episode has ended.
    """
    end: Literal["released", "transferred_to_la"] | None = None
    ended_at = disposal = transferred_to = transferred_at = None
    if ep.ended is not None:
        ended_at, kind, detail = ep.ended
        until = ended_at
        if kind == "released":
            end, disposal = "released", detail
        else:
            end, transferred_to, transferred_at = "transferred_to_la", detail, iso(ended_at)
    else:
        until = ep.last_at if as_of is None else max(as_of, ep.last_at)
    age = ep.age_at_t0()
    return EpisodeSummary(
        custody_record_id=ep.record_id,
        person_ref=ep.person_ref,
        suite_id=ep.suite_id,
        suites=tuple(SuiteStay(suite_id=s, since=iso(t)) for t, s in ep.suites),
        home_local_authority=ep.home_la,
        juvenile=ep.juvenile,
        age_at_t0=age,
        age_band=age_band(age),
        sex=ep.sex,
        looked_after_child=ep.looked_after,
        arrest_basis=ep.arrest_basis,
        offence_category=ep.offence_category,
        arrested_at=iso(ep.arrested_at),
        arrived_at=iso(ep.arrived_at),
        detention_authorised_at=iso(ep.t0),
        appropriate_adult_requested_at=_iso(ep.aa_requested),
        appropriate_adult_arrived_at=_iso(ep.aa_arrived),
        reviews=tuple(iso(t) for t in ep.reviews),
        charged_at=_iso(ep.charged),
        bail_refused_at=_iso(ep.bail_refused),
        la_requests=tuple(
            LaRequest(
                requested_at=iso(t),
                local_authority=la,
                accommodation_type="secure" if kind == "secure" else "non_secure",
            )
            for t, la, kind in ep.la_requests
        ),
        la_responses=tuple(
            LaResponse(
                responded_at=iso(t),
                local_authority=la,
                outcome="accepted" if ok else "refused",
                reason=reason or None,
            )
            for t, ok, la, reason in ep.la_responses
        ),
        transfer_impracticable_at=_iso(ep.impracticable),
        transferred_to_la_at=transferred_at,
        transferred_to_la=transferred_to,
        nights=nights_held(ep, rules, until, ended=end is not None),
        ended_at=_iso(ended_at),
        end=end,
        disposal=disposal,
        next_deadline=_next_deadline(ep, rules),
        updated_at=iso(ep.last_at),
        extensions=tuple(
            Extension(extended_at=iso(t), new_limit_hours=hours) for t, hours in ep.extensions
        ),
    )
