"""Precomputed pools for the fast path: most episodes are assembled, not modelled.

About 97 in 100 episodes are "ordinary" (no age correction, transfer between
suites or extension; not a child refused bail). Their independent facts (who
they are, which suite, how the appropriate adult and the reviews went) are
drawn once per run into pools of 1,024 entries, from the same distributions
the full model uses; an ordinary episode then picks one entry of each pool and
one log-normal duration multiplier (three 10-bit random draws), instead of
thirty draws and as many small decisions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import chain, count, repeat
from operator import itemgetter
from random import Random

from custodywatch.sim import behaviour as m
from custodywatch.sim import render as r
from custodywatch.sim.dates_of_birth import years_back
from custodywatch.sim.draw import Weighted
from custodywatch.sim.force import Force
from custodywatch.sim.timefmt import DAY, HOUR, MINUTE

POOL_BITS = 10
POOL_SIZE = 1 << POOL_BITS

PersonEntry = tuple[str, str, str, str, int, str]
"""(suite id, `render.suite_part` of it, middle, tail, days back, `charged` tail);
`middle` and `tail` as in `render.authorised_parts`; the date of birth is `days
back` days before T0's date (an age in years, approximated as `round(age *
365.2425)` days, and 3..360 days more: see `dates_of_birth.Dobs`), or unknown if `days
back` is -1."""

TimingEntry = tuple[int, int, int, int, int, int, str, tuple[int, ...], tuple[str, ...]]
"""(booking, travel, cap, charge before the end or 0, charge if remanded, bail
refusal after that charge, `released` tail, step times, step tails).

The steps are the appropriate adult's request and arrival (if any) and the
reviews, in time order: an episode keeps those before its end. `cap` is the
longest an ordinary episode may last (ten minutes before the 24-hour limit from
arrival). Times are seconds after T0 unless said otherwise."""


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
    texts: dict[str, str] = {}
    for _ in range(POOL_SIZE):
        suite = suites.pick(rnd())
        home_la = catchment[suite].pick(rnd())
        age = m.CHILD_AGES.pick(rnd()) if child else _adult_age(rng)
        known = rnd() < (m.P_CHILD_DOB_KNOWN if child else m.P_ADULT_DOB_KNOWN)
        back = years_back(age) + 3 + int(rnd() * 358) if known else -1
        appears = None if known else child
        looked_after = m.LOOKED_AFTER.pick(rnd()) if child else None
        sex = (m.SEX_CHILD if child else m.SEX_ADULT).pick(rnd())
        basis = (m.BASIS_CHILD if child else m.BASIS_ADULT).pick(rnd())
        category = m.offence_category(basis, rnd())
        charge = m.charge_tail(category, rng)
        middle, tail = r.authorised_parts(appears, looked_after, sex, basis, category, home_la)
        # One object per distinct text: a smaller pool, kinder to the CPU cache.
        middle, tail = texts.setdefault(middle, middle), texts.setdefault(tail, tail)
        pool.append((suite, r.suite_part(suite), middle, tail, back, charge))
    return pool


def timing_pool(rng: Random, child: bool) -> list[TimingEntry]:
    """Booking-in, appropriate adult, reviews and outcome of ordinary episodes."""
    rnd = rng.random
    pool: list[TimingEntry] = []
    disposals = m.DISPOSAL_CHILD if child else m.DISPOSAL_ADULT
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}
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
        steps: list[tuple[int, str]] = []
        if requested >= 0:
            steps += [(requested, r.AA_REQUESTED), (arrived, r.AA_ARRIVED)]
        due = 6 * HOUR
        n = 0
        while due < 80 * HOUR:  # remands can wait for Monday's court
            if rnd() < m.P_REVIEW_LATE:
                at = due + 5 * MINUTE + int(rnd() * 115 * MINUTE)
            else:
                at = due - int(rnd() * 50 * MINUTE)
            n += 1
            steps.append((at, r.REVIEWED_BY_INSPECTOR[n] if rnd() < 0.95 else r.REVIEWED[n]))
            due = at + 9 * HOUR
        # One ordered list, so that an episode keeps a prefix of it: the arrival
        # comes after the request, and each review after the one before.
        steps.sort()
        charged = rnd() < (m.P_CHARGED_CHILD if child else m.P_CHARGED_ADULT)
        charge_back = 15 * MINUTE + int(rnd() * 75 * MINUTE) if charged else 0
        disposal = r.RELEASED[disposals.pick(rnd())]
        remand_charge = min(3 * HOUR + int(rnd() * 9 * HOUR), DAY - booking - 30 * MINUTE)
        remand_refuse = 5 * MINUTE + int(rnd() * 35 * MINUTE)
        cap = DAY - booking - 10 * MINUTE
        times = tuple(t for t, _ in steps)
        tails = tuple(x for _, x in steps)
        tails = shared.setdefault(tails, tails)  # few distinct sequences
        numbers = (booking, travel, cap, charge_back, remand_charge, remand_refuse)
        pool.append((*numbers, disposal, times, tails))
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
    neighbouring episodes share no visible pattern.
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

    def pieces(self) -> tuple[Iterator[str], Iterator[str], Iterator[str]]:
        """`self(k)` for k = 0, 1, 2, ... (endless) in three pieces: 'P-' and four
        digits, two digits, two digits (the caller joins them in its own text).

        Made in C, 10,000 at a time (`itemgetter`), without arithmetic per ref. The
        last four digits come from two-digit strings: the tables read at random
        then stay small enough for the CPU cache.
        """
        two = [f"{n:02d}" for n in range(100)]
        high = [two[n // 100] for n in range(10_000)]
        low = [two[n % 100] for n in range(10_000)]
        pick = itemgetter(*self.offset)  # pick(t)[a] = t[offset[a]]

        def rotated(table: list[str]) -> Iterator[tuple[str, ...]]:
            for block in count():
                b = block % 10_000
                yield pick(table[b:] + table[:b])  # table[(offset[a] + b) % 10,000]

        return (
            chain.from_iterable(repeat(self.first)),
            chain.from_iterable(rotated(high)),
            chain.from_iterable(rotated(low)),
        )


def record_ids(prefix: str) -> Iterator[str]:
    """`f"{prefix}{k}"` for k = 0, 1, 2, ... (endless), made as the caller asks, in C."""
    four_digits = [f"{n:04d}" for n in range(10_000)]

    def blocks() -> Iterator[Iterator[str]]:
        yield map(prefix.__add__, map(str, range(10_000)))
        for b in count(1):
            yield map(f"{prefix}{b}".__add__, four_digits)

    return chain.from_iterable(blocks())
