"""One detention episode as events (the behaviour model).

An episode's *profile* is decided beforehand by exact quotas
(`custodywatch.sim.schedule`): adult, or child with one of the post-charge
outcomes of the published figures. This module turns a profile, a start time
T0 and the seeded generator into events:

* arrest, arrival and booking-in just before T0;
* an appropriate adult for every child (and some vulnerable adults), usually
  requested within the hour and arriving within three hours, not always;
* PACE reviews at 6h and then every 9h, usually a little early, sometimes late;
* for children refused bail after charge: the PACE s.38(6) request(s) to the
  home local authority, its answers, the certificate, the transfer or the
  morning court;
* occasional age corrections (both directions), transfers between suites and,
  for adults, superintendent or court extensions and remands.

Durations of ordinary episodes are log-normal around a target that
`custodywatch.sim.durations` steers month by month; the rates and
distributions are in `custodywatch.sim.behaviour`, the codes in
`custodywatch.sim.profiles`.

Most ordinary episodes are assembled much faster from `custodywatch.sim.pools`
by the generator, from the same distributions; `EpisodeFactory` builds the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random

from custodywatch.sim import render as r
from custodywatch.sim.behaviour import (
    ADULT_AGE_BANDS,
    BASIS_ADULT,
    BASIS_CHILD,
    CHILD_AGES,
    DISPOSAL_ADULT,
    DISPOSAL_CHILD,
    LOOKED_AFTER,
    P_AA_ARRIVAL_LATE,
    P_AA_NOT_REQUESTED,
    P_AA_REQUEST_LATE,
    P_ADULT_DOB_KNOWN,
    P_CHARGED_ADULT,
    P_CHARGED_CHILD,
    P_CHILD_DOB_KNOWN,
    P_LONG_ARREST,
    P_REVIEW_LATE,
    P_VULNERABLE_ADULT,
    SECOND_EXTENSION,
    SEX_ADULT,
    SEX_CHILD,
    SIGMA_ADULT,
    SIGMA_CHILD,
    charge_tail,
    offence_category,
)
from custodywatch.sim.dates_of_birth import Dobs
from custodywatch.sim.draw import Weighted, lognormal_with_mean
from custodywatch.sim.durations import DurationControls, clock_driven_minutes, target_seconds
from custodywatch.sim.force import IMPRACTICABLE_REASONS, LA_REFUSAL_REASONS, Force
from custodywatch.sim.profiles import (
    ADULT,
    AT_CHILDRENS_SUITE,
    EXEMPT,
    FEATURE_SHIFT,
    NO_ACCOMMODATION,
    NORMAL,
    PROFILE_MASK,
    TRANSFER,
    Feature,
)
from custodywatch.sim.targets import PUBLISHED, Targets
from custodywatch.sim.timefmt import DAY, HOUR, MINUTE, Calendar, time_of_day

Event = tuple[int, str, str]
"""(occurred_at in seconds after the calendar's first day, 00:00 UTC; tail (event
type, payload, line end); suite id).

See `custodywatch.sim.render` for how a line is assembled."""

SUNDAY = 6

_RELEASED_TO_COURT = r.RELEASED["to_court"]
_RELEASED_BAIL = r.RELEASED["bail"]


class EpisodeFactory:
    """Builds the events of one episode from the shared seeded generator (the full model).

    The generator assembles most ordinary episodes itself from precomputed pools
    (`custodywatch.sim.pools`) for speed; this class builds the others: children
    refused bail, adult extensions, age corrections and transfers between suites
    (`Feature`). Both record durations in the same controllers.

    Times are seconds after the calendar's first day, 00:00 UTC: small ints,
    which CPython adds and compares faster than epoch seconds.
    """

    def __init__(
        self,
        rng: Random,
        cal: Calendar,
        force: Force,
        controls: DurationControls,
        dobs: Dobs,
        targets: Targets = PUBLISHED,
    ) -> None:
        self.rng = rng
        self.cal = cal
        self.last_day = cal.last_day - cal.first_day
        self.tod = time_of_day()
        self.controls = controls
        self.dobs = dobs
        self.targets = targets
        cs = [s for s in force.suites if s in force.childrens_suites]
        other = [s for s in force.suites if s not in force.childrens_suites]
        w = force.suite_weights
        self.all_suites = Weighted(force.suites, [w[s] for s in force.suites])
        self.childrens_suites = Weighted(cs, [w[s] for s in cs])
        self.other_suites = Weighted(other, [w[s] for s in other])
        self.catchment = {s: Weighted.of(force.catchment[s]) for s in force.suites}

    # -- helpers -------------------------------------------------------------

    def _dob(self, day_index: int, age: int) -> str:
        return self.dobs(day_index, age, 3 + int(self.rng.random() * 358))

    def _adult_age(self) -> int:
        lo, hi = ADULT_AGE_BANDS.pick(self.rng.random())
        return lo + int(self.rng.random() * (hi - lo + 1))

    def _day(self, t: int) -> int:
        """Row of the calendar for the UTC day of `t` (clamped to the table)."""
        day = t // DAY
        if day < 0:  # branches: cheaper than min() and max() calls
            return 0
        return self.last_day if day > self.last_day else day

    def _fmt(self, t: int) -> str:
        """RFC 3339 text of `t` ('+00:00')."""
        return self.cal.prefix[self._day(t)] + self.tod[t % DAY]

    def court_time(self, earliest: int) -> int:
        """A morning court slot (08:00-10:30 local, not Sunday) at or after `earliest`."""
        offsets, weekdays = self.cal.local_offset, self.cal.weekday
        local = earliest + offsets[self._day(earliest)]
        slot = local - local % DAY + 8 * HOUR + int(self.rng.random() * 150) * MINUTE
        if slot < local:
            slot += DAY
        while weekdays[self._day(slot)] == SUNDAY:
            slot += DAY
        return slot - offsets[self._day(slot)]

    # -- the episode ---------------------------------------------------------

    def build(self, person_ref: str, t0: int, code: int) -> list[Event]:  # noqa: PLR0915
        """Events of one episode, in time order: `detention_authorised` at `t0` ... its end."""
        rnd = self.rng.random
        cal = self.cal
        feature = code >> FEATURE_SHIFT
        profile = code & PROFILE_MASK
        child = profile != ADULT

        if not child:
            suite = self.all_suites.pick(rnd())
        elif code & AT_CHILDRENS_SUITE:
            suite = self.childrens_suites.pick(rnd())
        else:
            suite = self.other_suites.pick(rnd())
        home_la = self.catchment[suite].pick(rnd())

        # Who: age and how they presented.
        idx = self._day(t0)
        true_age = CHILD_AGES.pick(rnd()) if child else self._adult_age()
        correction = feature == Feature.AGE_CORRECTION
        true_dob = self._dob(idx, true_age)
        appears: bool | None
        if correction and child:
            # Gave an adult's date of birth, or none and looked older.
            true_dob = self._dob(idx, 15 + int(rnd() * 3))
            shown_dob = self._dob(idx, 18 + int(rnd() * 2)) if rnd() < 0.5 else "null"
            appears = False
        elif correction:
            # No date of birth and looked under 18.
            true_dob = self._dob(idx, 18 + int(rnd() * 3))
            shown_dob, appears = "null", True
        elif rnd() < (P_CHILD_DOB_KNOWN if child else P_ADULT_DOB_KNOWN):
            shown_dob, appears = true_dob, None
        else:
            shown_dob, appears = "null", child
        treated_as_child_at_t0 = child != correction

        if not child:
            basis = BASIS_ADULT.pick(rnd())
        elif profile == EXEMPT:
            basis = "warrant" if rnd() < 0.55 else "breach_of_bail"
        elif profile == NORMAL:
            basis = BASIS_CHILD.pick(rnd())
        else:
            basis = "new_offence"
        category = offence_category(basis, rnd())

        booking = 5 * MINUTE + int(rnd() * 40 * MINUTE)
        travel = 10 * MINUTE + int(rnd() * 40 * MINUTE)
        if rnd() < P_LONG_ARREST:
            travel += 2 * HOUR + int(rnd() * 4 * HOUR)  # via hospital, or a long way
        arrived = t0 - booking
        arrested = arrived - travel
        relevant = min(arrived, arrested + 24 * HOUR)
        limit24 = relevant + 24 * HOUR

        fmt = self._fmt
        opening = r.authorised(
            person_ref,
            shown_dob,
            appears,
            LOOKED_AFTER.pick(rnd()) if child else None,
            (SEX_CHILD if child else SEX_ADULT).pick(rnd()),
            fmt(arrested),
            fmt(arrived),
            basis,
            category,
            home_la,
        )
        events: list[Event] = [(t0, opening, suite)]
        add = events.append

        age_at = t0 + 20 * MINUTE + int(rnd() * 160 * MINUTE) if correction else 0
        min_end = (age_at if correction else t0) + 30 * MINUTE

        control_key = self.controls.key(cal.month_index[idx], child)
        target = target_seconds(child, cal.month[idx], self.targets)

        charged_at = 0
        end_tail = ""
        if profile in (NORMAL, ADULT) and feature not in (Feature.EXTENDED, Feature.REMANDED):
            # Ordinary: released (sometimes charged and bailed) before the 24h limit.
            cap = limit24 - 10 * MINUTE - t0
            mean = self.controls.suggest(control_key, target)
            d = int(lognormal_with_mean(self.rng, mean, SIGMA_CHILD if child else SIGMA_ADULT))
            if d > cap:
                d = cap - int(rnd() * 4 * HOUR)
            end = t0 + max(d, min_end - t0, 20 * MINUTE)
            if end - t0 >= 2 * HOUR and rnd() < (P_CHARGED_CHILD if child else P_CHARGED_ADULT):
                charged_at = end - 15 * MINUTE - int(rnd() * 75 * MINUTE)
                end_tail = _RELEASED_BAIL
            else:
                end_tail = r.RELEASED[(DISPOSAL_CHILD if child else DISPOSAL_ADULT).pick(rnd())]
        elif feature == Feature.EXTENDED:
            # Superintendent extension to 36h; sometimes a warrant of further detention.
            ext_at = max(relevant + 20 * HOUR + int(rnd() * 210 * MINUTE), t0 + HOUR)
            limit = 36
            add((ext_at, r.EXTENDED[36, 1], suite))
            last = ext_at
            if rnd() < 0.2:
                limit = SECOND_EXTENSION.pick(rnd())
                second = relevant + 30 * HOUR + int(rnd() * 5 * HOUR)
                add((second, r.EXTENDED[limit, 2], suite))
                last = second
            end = max(relevant + 24 * HOUR + int(rnd() * (limit - 25) * HOUR), last + HOUR)
            if rnd() < 0.5:
                charged_at = max(end - 20 * MINUTE - int(rnd() * 70 * MINUTE), last + 5 * MINUTE)
                end_tail = _RELEASED_TO_COURT if rnd() < 0.5 else _RELEASED_BAIL
            else:
                end_tail = r.RELEASED[DISPOSAL_ADULT.pick(rnd())]
        else:
            # Charged, bail refused: held for the morning court, or (children
            # needing local authority accommodation) transferred if the LA can.
            charged_at = min(t0 + 3 * HOUR + int(rnd() * 9 * HOUR), limit24 - 30 * MINUTE)
            refused_at = charged_at + 5 * MINUTE + int(rnd() * 35 * MINUTE)
            add((refused_at, r.BAIL_REFUSED, suite))
            last = refused_at
            end_tail = _RELEASED_TO_COURT
            transferred = False
            if profile in (TRANSFER, NO_ACCOMMODATION):
                last, transferred = self._la_flow(profile, refused_at, home_la, suite, add)
            if transferred:
                end, end_tail = last, r.transferred_to_la(home_la)
            else:
                end = self.court_time(max(last + 30 * MINUTE, refused_at + 150 * MINUTE))

        if charged_at:
            add((charged_at, charge_tail(category, self.rng), suite))

        if correction:
            add((age_at, r.age_established(true_dob), suite))

        # Appropriate adult (for a child first taken for an adult: once the age is known).
        if treated_as_child_at_t0 or child or rnd() < P_VULNERABLE_ADULT:
            start = age_at if (child and correction) else t0
            u = rnd()
            if u >= P_AA_NOT_REQUESTED:
                if u < P_AA_NOT_REQUESTED + P_AA_REQUEST_LATE:
                    requested = start + 61 * MINUTE + int(rnd() * 90 * MINUTE)
                else:
                    requested = start + 5 * MINUTE + int(rnd() * 50 * MINUTE)
                needed = child or not correction or requested < age_at
                if requested < end and needed:
                    add((requested, r.AA_REQUESTED, suite))
                    if rnd() < P_AA_ARRIVAL_LATE:
                        arrived_aa = requested + 181 * MINUTE + int(rnd() * 240 * MINUTE)
                    else:
                        arrived_aa = requested + 20 * MINUTE + int(rnd() * 150 * MINUTE)
                    if arrived_aa < end:
                        add((arrived_aa, r.AA_ARRIVED, suite))

        # PACE reviews: 6h after T0, then every 9h (after charge, by a sergeant).
        due = t0 + 6 * HOUR
        n = 0
        while True:
            if rnd() < P_REVIEW_LATE:
                at = due + 5 * MINUTE + int(rnd() * 115 * MINUTE)
            else:
                at = due - int(rnd() * 50 * MINUTE)
            if at >= end:
                break
            n += 1
            if n > r.MAX_NUMBERED:
                add((at, r.reviewed(n), suite))
            elif rnd() < 0.05:
                add((at, r.REVIEWED[n], suite))
            elif charged_at and at > charged_at:
                add((at, r.REVIEWED_BY_SERGEANT[n], suite))
            else:
                add((at, r.REVIEWED_BY_INSPECTOR[n], suite))
            due = at + 9 * HOUR

        moved_at = 0
        if feature == Feature.SUITE_TRANSFER:
            moved_at = t0 + 45 * MINUTE + int(rnd() * 4 * HOUR)
            if moved_at >= end - 30 * MINUTE:
                moved_at = 0

        events.sort()
        if moved_at:
            events, suite = self._move(events, suite, moved_at, child, code)
        events.append((end, end_tail, suite))
        expected = clock_driven_minutes(code)
        surplus = 0 if expected is None else expected * MINUTE - target
        self.controls.record(control_key, target, end - t0, surplus)
        return events

    def _la_flow(
        self,
        profile: int,
        refused_at: int,
        la: str,
        suite: str,
        emit: Callable[[Event], None],
    ) -> tuple[int, bool]:
        """PACE s.38(6) requests and answers; returns (time of the last event, transferred)."""
        rnd = self.rng.random
        requests = 2 if rnd() < (0.2 if profile == TRANSFER else 0.25) else 1
        kind = "secure" if rnd() < 0.3 else "non_secure"
        t = refused_at
        for n in range(requests):
            if rnd() < 0.9:
                t += 10 * MINUTE + int(rnd() * 45 * MINUTE)
            else:
                t += 65 * MINUTE + int(rnd() * 95 * MINUTE)
            emit((t, r.la_requested(la, kind, n + 1), suite))
            last_request = n == requests - 1
            if profile == NO_ACCOMMODATION and last_request and rnd() < 0.15:
                t += 70 * MINUTE + int(rnd() * 50 * MINUTE)  # no answer before court
                emit((t, r.IMPRACTICABLE[IMPRACTICABLE_REASONS[2]], suite))
                return t, False
            if rnd() < 0.85:
                t += 20 * MINUTE + int(rnd() * 35 * MINUTE)
            else:
                t += 65 * MINUTE + int(rnd() * 90 * MINUTE)
            if profile == TRANSFER and last_request:
                emit((t, r.la_accepted(la, n + 1), suite))
                if rnd() < 0.88:
                    t += 30 * MINUTE + int(rnd() * 85 * MINUTE)
                else:
                    t += 125 * MINUTE + int(rnd() * 115 * MINUTE)
                return t, True
            reason = LA_REFUSAL_REASONS[int(rnd() * len(LA_REFUSAL_REASONS))]
            emit((t, r.la_refused(la, reason, n + 1), suite))
            kind = "non_secure" if kind == "secure" else "secure"
        if rnd() < 0.8:
            t += 10 * MINUTE + int(rnd() * 50 * MINUTE)
            reason = IMPRACTICABLE_REASONS[int(rnd() * 2)]
            emit((t, r.IMPRACTICABLE[reason], suite))
        return t, False

    def _move(
        self, events: list[Event], suite: str, moved_at: int, child: bool, code: int
    ) -> tuple[list[Event], str]:
        """Insert `transferred_to_suite`; later events carry the new suite (returned too).

        A child stays on the same side of the children's-suite line.
        """
        if child:
            pool = self.childrens_suites if code & AT_CHILDRENS_SUITE else self.other_suites
        else:
            pool = self.all_suites
        to = suite
        for _ in range(8):
            to = pool.pick(self.rng.random())
            if to != suite:
                break
        if to == suite:
            return events, suite
        out: list[Event] = []
        moved = False
        for t, text, at_suite in events:
            if not moved and t > moved_at:
                out.append((moved_at, r.transferred_to_suite(to), suite))
                moved = True
            out.append((t, text, to if moved else at_suite))
        if not moved:
            out.append((moved_at, r.transferred_to_suite(to), suite))
        return out, to
