"""Who is detained when: arrival times (T0) and each episode's profile code."""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate, repeat, starmap
from math import log
from operator import sub
from random import Random

from custodywatch.sim.behaviour import (
    P_ADULT_AGE_CORRECTION,
    P_ADULT_EXTENDED,
    P_ADULT_REMANDED,
    P_CHILD_AGE_CORRECTION,
    P_SUITE_TRANSFER_ADULT,
    P_SUITE_TRANSFER_CHILD,
)
from custodywatch.sim.force import HOUR_WEIGHTS, WEEKDAY_WEIGHTS
from custodywatch.sim.profiles import (
    ADULT,
    AT_CHILDRENS_SUITE,
    EXEMPT,
    FEATURE_SHIFT,
    NO_ACCOMMODATION,
    NORMAL,
    NOT_REQUESTED,
    TRANSFER,
    Feature,
)
from custodywatch.sim.targets import PUBLISHED, Targets, quotas_for
from custodywatch.sim.timefmt import DAY, HOUR, Calendar


def arrival_times(
    rng: Random, cal: Calendar, start: int, end: int, n: int, base: int = 0
) -> list[int]:
    """`n` sorted T0s in [start, end) minus `base`: hour-of-day x weekday weights, local time.

    Inverse-CDF sampling of a piecewise-constant rate: `n` sorted uniforms are
    cut by the cumulative weights of the hourly slots; within a slot the map is
    linear, so the times come out sorted. The sorted uniforms are exponential
    spacings (partial sums of -log(u), scaled), which need no sort.
    """
    if n == 0 or end <= start:
        return []
    lows, masses = _hour_slots(cal, start, end)
    highs = [*lows[1:], end]
    factors = [(hi - lo) / m for lo, hi, m in zip(lows, highs, masses, strict=True)]
    bounds = list(accumulate(masses))  # cumulative mass at the end of each slot
    # n + 1 spacings, summed in C (map, accumulate); the last sum only scales.
    draws = starmap(rng.random, repeat((), n + 1))
    sums = list(accumulate(map(log, map(sub, repeat(1.0), draws))))  # <= 0, decreasing
    scale = bounds[-1] / sums.pop()  # < 0: sums -> cumulative mass
    times: list[int] = []
    add = times.append
    last = len(bounds) - 1
    slot, below, bound, lo, factor = -1, 0.0, -1.0, 0, 0.0  # before the first slot
    for s in sums:
        u = s * scale
        if u >= bound:  # into the slot that holds u (past any empty ones)
            slot = min(bisect_right(bounds, u, slot + 1), last)
            below = bounds[slot - 1] if slot else 0.0
            bound, lo, factor = bounds[slot], lows[slot] - base, factors[slot]
        add(lo + int((u - below) * factor))
    limit = end - 1 - base
    for i in range(len(times) - 1, -1, -1):  # float rounding at the very end
        if times[i] <= limit:
            break
        times[i] = limit
    return times


def _hour_slots(cal: Calendar, start: int, end: int) -> tuple[list[int], list[float]]:
    """The UTC hours that cover [start, end), the first and last cut to it: start, mass.

    An hour's mass is its weight (local hour of day x local weekday) x its length
    in hours. Whole days are copied from a day pattern per (UTC offset, weekday).
    """
    first_hour = start - start % HOUR
    lows = list(range(first_hour, end, HOUR))
    skip = (first_hour % DAY) // HOUR  # hours of the first day before start's
    day = first_hour // DAY
    patterns: dict[tuple[int, int], list[float]] = {}
    weights: list[float] = []
    while len(weights) < skip + len(lows):
        i = day - cal.first_day
        key = (cal.local_offset[i], cal.weekday[i])
        if key not in patterns:
            patterns[key] = _day_weights(*key)
        weights += patterns[key]
        day += 1
    masses = weights[skip : skip + len(lows)]
    lows[0] = start
    masses[0] *= (min(first_hour + HOUR, end) - start) / HOUR
    if len(lows) > 1:
        masses[-1] *= (end - lows[-1]) / HOUR
    return lows, masses


def _day_weights(offset: int, weekday: int) -> list[float]:
    """Weights of the 24 hours of a UTC day whose local time is `offset` s ahead."""
    weights: list[float] = []
    for hour in range(24):
        local = hour * HOUR + offset  # seconds after the UTC day's midnight
        local_weekday = (weekday + local // DAY) % 7
        weights.append(HOUR_WEIGHTS[(local % DAY) // HOUR] * WEEKDAY_WEIGHTS[local_weekday])
    return weights


def episode_codes(rng: Random, n: int, targets: Targets = PUBLISHED) -> bytearray:
    """One code per episode: profile, children's suite, feature; exact counts placed at random.

    Children, their post-charge outcomes and their booking at a children's suite
    are exact counts (`quotas_for`), so that small published figures (21
    transfers, 3 requests not made) are met exactly rather than on average. The
    rarer shapes (`Feature`) of ordinary episodes are exact shares too (bits 5-7
    of the code, `FEATURE_SHIFT`).
    """
    q = quotas_for(n, targets)
    remands = (
        [EXEMPT] * q.exempt
        + [TRANSFER] * q.transferred
        + [NOT_REQUESTED] * q.not_requested
        + [NO_ACCOMMODATION] * q.no_accommodation
    )
    children = min(max(q.children, len(remands)), n)
    remands = remands[:children]
    ordinary = children - len(remands)
    child_codes = remands + _with_features(NORMAL, ordinary, CHILD_FEATURES)
    rng.shuffle(child_codes)
    for j in rng.sample(range(children), min(q.childrens_suite, children)):
        child_codes[j] |= AT_CHILDRENS_SUITE
    adults = n - children
    adult_codes = [c for c in _with_features(ADULT, adults, ADULT_FEATURES) if c != ADULT]
    codes = bytearray([ADULT]) * n
    special = child_codes + adult_codes
    for position, code in zip(rng.sample(range(n), len(special)), special, strict=True):
        codes[position] = code
    return codes


ADULT_FEATURES: tuple[tuple[Feature, float], ...] = (
    (Feature.AGE_CORRECTION, P_ADULT_AGE_CORRECTION),
    (Feature.SUITE_TRANSFER, P_SUITE_TRANSFER_ADULT),
    (Feature.EXTENDED, P_ADULT_EXTENDED),
    (Feature.REMANDED, P_ADULT_REMANDED),
)
CHILD_FEATURES: tuple[tuple[Feature, float], ...] = (
    (Feature.AGE_CORRECTION, P_CHILD_AGE_CORRECTION),
    (Feature.SUITE_TRANSFER, P_SUITE_TRANSFER_CHILD),
)


def _with_features(code: int, count: int, shares: tuple[tuple[Feature, float], ...]) -> list[int]:
    """`count` codes: exact shares with one feature each, the rest plain (in that order)."""
    out: list[int] = []
    for feature, share in shares:
        out += [code | (feature << FEATURE_SHIFT)] * round(share * count)
    out = out[:count]
    return out + [code] * (count - len(out))
