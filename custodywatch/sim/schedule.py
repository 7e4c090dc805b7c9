"""Who is detained when: arrival times (T0) and each episode's profile code."""

from __future__ import annotations

from bisect import bisect_left
from random import Random

from custodywatch.sim.episodes import (
    ADULT,
    AT_CHILDRENS_SUITE,
    EXEMPT,
    FEATURE_SHIFT,
    NO_ACCOMMODATION,
    NORMAL,
    NOT_REQUESTED,
    P_ADULT_AGE_CORRECTION,
    P_ADULT_EXTENDED,
    P_ADULT_REMANDED,
    P_CHILD_AGE_CORRECTION,
    P_SUITE_TRANSFER_ADULT,
    P_SUITE_TRANSFER_CHILD,
    TRANSFER,
    Feature,
)
from custodywatch.sim.force import HOUR_WEIGHTS, WEEKDAY_WEIGHTS
from custodywatch.sim.targets import PUBLISHED, Targets, quotas_for
from custodywatch.sim.timefmt import DAY, HOUR, Calendar


def arrival_times(
    rng: Random, cal: Calendar, start: int, end: int, n: int, base: int = 0
) -> list[int]:
    """`n` sorted T0s in [start, end) minus `base`: hour-of-day x weekday weights, local time.

    Inverse-CDF sampling of a piecewise-constant rate: `n` sorted uniforms are
    cut by the cumulative weights of the hourly slots (bisection); within a slot
    the map is linear, so the times come out sorted.
    """
    if n == 0 or end <= start:
        return []
    lows: list[int] = []
    factors: list[float] = []
    cumulative: list[float] = []
    total = 0.0
    hour = start - start % HOUR
    first_day, offsets, weekdays = cal.first_day, cal.local_offset, cal.weekday
    while hour < end:
        local = hour + offsets[hour // DAY - first_day]
        weekday = weekdays[local // DAY - first_day]  # of the local date
        weight = HOUR_WEIGHTS[(local % DAY) // HOUR] * WEEKDAY_WEIGHTS[weekday]
        lo, hi = max(hour, start), min(hour + HOUR, end)
        mass = weight * (hi - lo) / HOUR
        total += mass
        lows.append(lo - base)
        factors.append((hi - lo) / mass)  # seconds per unit of mass in this slot
        cumulative.append(total)
        hour += HOUR
    rnd = rng.random
    points = [rnd() for _ in range(n)]
    points.sort()
    scale = total  # units of `points` -> units of `cumulative`
    times: list[int] = []
    first, below = 0, 0.0
    for lo, factor, upto in zip(lows, factors, cumulative, strict=True):
        last = bisect_left(points, upto / scale, first)
        if last > first:
            f = factor * scale
            times += [lo + int((u - below) * f) for u in points[first:last]]
            first = last
        below = upto / scale
    times += [lows[-1]] * (n - len(times))  # float rounding at the very end
    limit = end - 1 - base
    for i in range(len(times) - 1, -1, -1):  # float rounding at the very end
        if times[i] <= limit:
            break
        times[i] = limit
    return times


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
