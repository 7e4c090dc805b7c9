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

Durations of ordinary episodes are log-normal around a target that a feedback
controller per (adults / children, calendar month) nudges, so that each
month's mean lands on the published figure while each episode stays random.

Most ordinary episodes are assembled much faster from `custodywatch.sim.pools`
by the generator, from the same distributions; `EpisodeFactory` builds the rest.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, timedelta
from enum import IntEnum
from random import Random

from custodywatch.sim import render as r
from custodywatch.sim.draw import Weighted, lognormal_with_mean
from custodywatch.sim.force import (
    IMPRACTICABLE_REASONS,
    LA_REFUSAL_REASONS,
    OFFENCE_CATEGORIES,
    OFFENCES,
    Force,
)
from custodywatch.sim.targets import PUBLISHED, Targets, child_mean_for_month
from custodywatch.sim.timefmt import DAY, HOUR, MINUTE, Calendar, time_of_day

Event = tuple[int, str, str]
"""(occurred_at in seconds after the calendar's first day, 00:00 UTC; tail (event
type, payload, line end); suite id).

See `custodywatch.sim.render` for how a line is assembled."""


class Feature(IntEnum):
    """The rarer shapes an ordinary (not refused bail) episode can take; at most one."""

    NONE = 0
    AGE_CORRECTION = 1
    SUITE_TRANSFER = 2
    EXTENDED = 3  # adults only
    REMANDED = 4  # adults only: charged, bail refused, morning court


# Profiles (the low 3 bits of a code); bit 4 = booked in at a children's suite.
NORMAL = 0
EXEMPT = 1  # child refused bail, arrested on a warrant or for breach of bail
TRANSFER = 2  # child refused bail, LA accepted, transferred
NOT_REQUESTED = 3  # child refused bail, no LA request made
NO_ACCOMMODATION = 4  # child refused bail, LA request(s) but no accommodation
ADULT = 7
AT_CHILDRENS_SUITE = 16
PROFILE_MASK = 7
FEATURE_SHIFT = 5  # bits 5-7: Feature

SUNDAY = 6

# Behaviour rates (the published figures do not give these; plausible values).
P_CHILD_AGE_CORRECTION = 0.006  # first treated as an adult
P_ADULT_AGE_CORRECTION = 0.002  # first treated as a child
P_CHILD_DOB_KNOWN = 0.85
P_ADULT_DOB_KNOWN = 0.93
P_VULNERABLE_ADULT = 0.08
P_AA_NOT_REQUESTED = 0.02
P_AA_REQUEST_LATE = 0.10
P_AA_ARRIVAL_LATE = 0.15
P_REVIEW_LATE = 0.07
P_SUITE_TRANSFER_ADULT = 0.01
P_SUITE_TRANSFER_CHILD = 0.005
P_ADULT_EXTENDED = 0.012
P_ADULT_REMANDED = 0.07
P_CHARGED_CHILD = 0.22
P_CHARGED_ADULT = 0.30
P_LONG_ARREST = 0.03
SIGMA_CHILD = 0.55
SIGMA_ADULT = 0.55
CONTROL_SHIFT = 3  # the controller corrects 1/8 of the shortfall per episode


CHILD_AGES = Weighted((10, 11, 12, 13, 14, 15, 16, 17), (1, 2, 5, 9, 14, 20, 23, 26))
ADULT_AGE_BANDS = Weighted(
    ((18, 24), (25, 34), (35, 44), (45, 54), (55, 79)), (0.20, 0.32, 0.25, 0.14, 0.09)
)
SEX_CHILD = Weighted(("male", "female", None), (0.84, 0.15, 0.01))
SEX_ADULT = Weighted(("male", "female", None), (0.82, 0.17, 0.01))
LOOKED_AFTER = Weighted((True, False, None), (0.12, 0.80, 0.08))
BASIS_CHILD = Weighted(
    ("new_offence", "warrant", "breach_of_bail", "other"), (0.93, 0.03, 0.02, 0.02)
)
BASIS_ADULT = Weighted(
    ("new_offence", "warrant", "breach_of_bail", "court_remand", "other"),
    (0.86, 0.07, 0.03, 0.02, 0.02),
)
OFFENCE = Weighted.of(OFFENCE_CATEGORIES)
DISPOSAL_CHILD = Weighted(
    ("released_under_investigation", "no_further_action", "out_of_court_disposal", "bail", "other"),
    (0.38, 0.27, 0.20, 0.10, 0.05),
)
DISPOSAL_ADULT = Weighted(
    ("released_under_investigation", "no_further_action", "out_of_court_disposal", "bail", "other"),
    (0.40, 0.25, 0.12, 0.17, 0.06),
)
SECOND_EXTENSION = Weighted((48, 60, 72, 96), (0.4, 0.2, 0.3, 0.1))

_RELEASED_TO_COURT = r.RELEASED["to_court"]
_RELEASED_BAIL = r.RELEASED["bail"]


def offence_category(basis: str, u: float) -> str:
    if basis == "warrant":
        return "failure_to_appear"
    if basis == "breach_of_bail":
        return "breach_of_bail"
    return OFFENCE.pick(u)


def charge_tail(category: str, rng: Random) -> str:
    """`charged` with one offence of the category, sometimes two, rarely none listed."""
    offences = OFFENCES[category]
    if rng.random() < 0.15 and category in r.CHARGED_TWO:
        return r.CHARGED_TWO[category]
    if rng.random() < 0.05:
        return r.CHARGED
    return r.CHARGED_ONE[offences[int(rng.random() * len(offences))]]


# Mean durations (minutes) of the episodes whose end the clock sets (the morning
# court, a transfer, an extension), measured over 450,000 simulated detentions.
CLOCK_DRIVEN_MINUTES: dict[tuple[int, int], int] = {
    (EXEMPT, 0): 1450,
    (TRANSFER, 0): 650,
    (NOT_REQUESTED, 0): 1450,
    (NO_ACCOMMODATION, 0): 1500,
    (ADULT, 4): 1460,  # Feature.REMANDED
    (ADULT, 3): 1900,  # Feature.EXTENDED
}


def clock_driven_minutes(code: int) -> int | None:
    """Expected duration of an episode with this code, if the clock sets its end."""
    return CLOCK_DRIVEN_MINUTES.get((code & PROFILE_MASK, code >> FEATURE_SHIFT))


class DurationControls:
    """Feedback on running mean durations, one controller per (group, calendar month).

    `shortfall[key]` (seconds) is the sum over the month's episodes so far of
    (target - duration); `pending[key]` the expected surplus over the target of
    the month's episodes still to come whose end the clock sets (remands held
    for the morning court, extensions). `suggest` returns the mean to draw the
    next ordinary episode from: the target, plus 1/8 of the shortfall (or all of
    it spread over the episodes left once fewer than 8 are left, so that the
    month ends on target), minus an even share of `pending` (so that ordinary
    episodes make room, evenly through the month, for the long ones to come).
    Integer arithmetic: the generator inlines it for adults (taking their share
    of `pending` once a day rather than per episode). A key is
    `(month_index - first_month_index) * 2 + is_child` (see
    `Calendar.month_index`); `remaining` counts the month's episodes still to come.
    """

    __slots__ = ("first_month", "pending", "remaining", "shortfall")

    def __init__(self, first_month: int, months: int) -> None:
        self.first_month = first_month
        self.shortfall: list[int] = [0] * (2 * months)
        self.pending: list[int] = [0] * (2 * months)
        self.remaining: list[int] = [0] * (2 * months)

    def key(self, month_index: int, child: bool) -> int:
        return (month_index - self.first_month) * 2 + child

    def suggest(self, key: int, target: int) -> int:
        left, shortfall = max(self.remaining[key], 1), self.shortfall[key]
        feedback = shortfall >> CONTROL_SHIFT if left > 1 << CONTROL_SHIFT else shortfall // left
        mean = target + feedback - self.pending[key] // left
        return min(max(mean, bounded_low(target)), bounded_high(target))

    def expect(self, key: int, surplus: int, count: int = 1) -> None:
        """`count` clock-driven episodes to come, each expected to last `surplus` over the target."""
        self.pending[key] += surplus * count
        self.remaining[key] += count

    def record(self, key: int, target: int, seconds: int, surplus: int = 0) -> None:
        """An episode of `seconds`; `surplus`: what `expect` was told of it, if anything."""
        self.shortfall[key] += target - seconds
        self.pending[key] -= surplus
        self.remaining[key] -= 1


def bounded_low(target: int) -> int:
    """The least mean `suggest` returns (35% of the target)."""
    return target * 35 // 100


def bounded_high(target: int) -> int:
    """The greatest mean `suggest` returns (180% of the target)."""
    return target * 9 // 5


class Dobs:
    """Dates of birth as JSON strings ('"YYYY-MM-DD"'), from a table of every day they can be.

    `__call__(day, age, days)` is the date `round(age * 365.2425) + days` days
    before the calendar's day `day` (T0's UTC date), for `days` in 3..360: at
    most a day from "`days` days before the `age`-th birthday", so the calendar
    age on T0's date is `age` whichever time zone reads T0. The fast path
    inlines it.
    """

    __slots__ = ("day_index", "first", "table")

    def __init__(self, cal: Calendar, max_age: int = 100) -> None:
        first_year = date.fromordinal(cal.ordinal[0]).year - max_age - 1
        last_year = date.fromordinal(cal.ordinal[-1]).year
        self.first = date(first_year, 1, 1).toordinal()
        self.table: list[str] = []
        for year in range(first_year, last_year + 1):
            days = _MONTH_DAYS_LEAP if calendar.isleap(year) else _MONTH_DAYS
            head = f'"{year:04d}-'
            self.table += [head + md for md in days]
        self.day_index = [o - self.first for o in cal.ordinal]  # a calendar day in `table`

    def __call__(self, day: int, age: int, days: int) -> str:
        return self.table[self.day_index[day] - years_back(age) - days]


def years_back(age: int) -> int:
    """`age` years in days, to within a day."""
    return round(age * 365.2425)


_MONTH_DAYS = [f'{d:%m-%d}"' for d in (date(2001, 1, 1) + timedelta(i) for i in range(365))]
_MONTH_DAYS_LEAP = [f'{d:%m-%d}"' for d in (date(2000, 1, 1) + timedelta(i) for i in range(366))]


def target_seconds(child: bool, month: int, targets: Targets) -> int:
    """Target mean duration for adults, or for children detained in calendar `month`."""
    if child:
        return child_mean_for_month(month, targets) * MINUTE
    return targets.adult_mean_min * MINUTE


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
