"""Precomputed pools for the fast path: most episodes are assembled, not modelled.

About 97 in 100 episodes are "ordinary" (no age correction, transfer between
suites or extension; not a child refused bail). Their independent facts (who
they are, which suite, how the appropriate adult and the reviews went) are
drawn once per run into pools of 1,024 entries, from the same distributions
the full model uses; an ordinary episode then picks one entry of each pool and
one log-normal duration multiplier with a single 30-bit random draw, instead of
thirty draws and as many small decisions.
"""

from __future__ import annotations

import math
from random import Random

from custodywatch.sim import episodes as m
from custodywatch.sim import render as r
from custodywatch.sim.draw import Weighted
from custodywatch.sim.force import Force
from custodywatch.sim.timefmt import HOUR, MINUTE

POOL_BITS = 10
POOL_SIZE = 1 << POOL_BITS

PersonEntry = tuple[str, str, str, int, str]
"""(suite id, middle, tail, days back, `charged` tail); `middle` and `tail` as in
`render.authorised_parts`; the date of birth is `days back` days before T0's date
(an age in years, approximated as `round(age * 365.2425)` days, and 3..360 days
more: see `episodes.Dobs`), or unknown if `days back` is -1."""

TimingEntry = tuple[int, int, int, int, tuple[tuple[int, str], ...], int, str, int, int]
"""(booking, travel, AA requested or -1, AA arrived or -1, ((review, tail), ...),
charge before the end or 0, `released` tail, charge if remanded, bail refusal after
that charge). Times are seconds after T0 unless said otherwise; events at or after
the episode's end are dropped."""


def _adult_age(rnd: Random) -> int:
    lo, hi = m.ADULT_AGE_BANDS.pick(rnd.random())
    return lo + int(rnd.random() * (hi - lo + 1))


def person_pool(rng: Random, force: Force, child: bool, childrens_suite: bool) -> list[PersonEntry]:
    """Ordinary detainees: adults, or children not refused bail, at the given kind of suite."""
    w = force.suite_weights
    if not child:
        names = list(force.suites)
    elif childrens_suite:
        names = [s for s in force.suites if s in force.childrens_suites]
    else:
        names = [s for s in force.suites if s not in force.childrens_suites]
    suites = Weighted(names, [w[s] for s in names])
    catchment = {s: Weighted.of(force.catchment[s]) for s in names}
    rnd = rng.random
    pool: list[PersonEntry] = []
    for _ in range(POOL_SIZE):
        suite = suites.pick(rnd())
        home_la = catchment[suite].pick(rnd())
        age = m.CHILD_AGES.pick(rnd()) if child else _adult_age(rng)
        known = rnd() < (m.P_CHILD_DOB_KNOWN if child else m.P_ADULT_DOB_KNOWN)
        back = m.years_back(age) + 3 + int(rnd() * 358) if known else -1
        appears = None if known else child
        looked_after = m.LOOKED_AFTER.pick(rnd()) if child else None
        sex = (m.SEX_CHILD if child else m.SEX_ADULT).pick(rnd())
        basis = (m.BASIS_CHILD if child else m.BASIS_ADULT).pick(rnd())
        category = m.offence_category(basis, rnd())
        charge = m.charge_tail(category, rng)
        middle, tail = r.authorised_parts(appears, looked_after, sex, basis, category, home_la)
        pool.append((suite, middle, tail, back, charge))
    return pool


def timing_pool(rng: Random, child: bool) -> list[TimingEntry]:
    """Booking-in, appropriate adult, reviews and outcome of ordinary episodes."""
    rnd = rng.random
    pool: list[TimingEntry] = []
    disposals = m.DISPOSAL_CHILD if child else m.DISPOSAL_ADULT
    for _ in range(POOL_SIZE):
        booking = 5 * MINUTE + int(rnd() * 40 * MINUTE)
        travel = 10 * MINUTE + int(rnd() * 40 * MINUTE)
        if rnd() < m.P_LONG_ARREST:
            travel += 2 * HOUR + int(rnd() * 4 * HOUR)
        requested = arrived = -1
        if child or rnd() < m.P_VULNERABLE_ADULT:
            u = rnd()
            if u >= m.P_AA_NOT_REQUESTED:
                if u < m.P_AA_NOT_REQUESTED + m.P_AA_REQUEST_LATE:
                    requested = 61 * MINUTE + int(rnd() * 90 * MINUTE)
                else:
                    requested = 5 * MINUTE + int(rnd() * 50 * MINUTE)
                if rnd() < m.P_AA_ARRIVAL_LATE:
                    arrived = requested + 181 * MINUTE + int(rnd() * 240 * MINUTE)
                else:
                    arrived = requested + 20 * MINUTE + int(rnd() * 150 * MINUTE)
        reviews: list[tuple[int, str]] = []
        due = 6 * HOUR
        while due < 80 * HOUR:  # remands can wait for Monday's court
            if rnd() < m.P_REVIEW_LATE:
                at = due + 5 * MINUTE + int(rnd() * 115 * MINUTE)
            else:
                at = due - int(rnd() * 50 * MINUTE)
            n = len(reviews) + 1
            reviews.append((at, r.REVIEWED_BY_INSPECTOR[n] if rnd() < 0.95 else r.REVIEWED[n]))
            due = at + 9 * HOUR
        charged = rnd() < (m.P_CHARGED_CHILD if child else m.P_CHARGED_ADULT)
        charge_back = 15 * MINUTE + int(rnd() * 75 * MINUTE) if charged else 0
        disposal = r.RELEASED[disposals.pick(rnd())]
        remand_charge = 3 * HOUR + int(rnd() * 9 * HOUR)
        remand_refuse = 5 * MINUTE + int(rnd() * 35 * MINUTE)
        pool.append(
            (
                booking,
                travel,
                requested,
                arrived,
                tuple(reviews),
                charge_back,
                disposal,
                remand_charge,
                remand_refuse,
            )
        )
    return pool


MULTIPLIER_BITS = 16


def lognormal_pool(rng: Random, sigma: float) -> list[int]:
    """Log-normal multipliers rescaled to a mean of exactly 1, in units of 2**-16."""
    values = [math.exp(sigma * rng.gauss(0.0, 1.0)) for _ in range(POOL_SIZE)]
    mean = math.fsum(values) / len(values)
    return [round(v / mean * (1 << MULTIPLIER_BITS)) for v in values]


class PersonRefs:
    """'P-00001234' for episode k: a bijection on [0, 10**8), pseudonymous and not sequential.

    With k = b * 10,000 + a: the first four digits are a random permutation of a,
    the last four `(offset[a] + b) mod 10,000` for random offsets, so that
    neighbouring episodes share no visible pattern. Two table lookups per episode.
    """

    __slots__ = ("first", "last", "offset")

    def __init__(self, rng: Random) -> None:
        digits = [f"{n:02d}" for n in range(100)]
        self.last = [high + low for high in digits for low in digits]  # '0000'..'9999'
        order = list(range(10_000))
        rng.shuffle(order)
        self.first = ["P-" + self.last[n] for n in order]
        rnd = rng.random
        self.offset = [int(rnd() * 10_000) for _ in range(10_000)]

    def __call__(self, k: int) -> str:
        a, b = k % 10_000, k // 10_000
        return self.first[a] + self.last[(self.offset[a] + b) % 10_000]
