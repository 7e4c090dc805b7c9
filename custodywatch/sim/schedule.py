"""Who is detained when: arrival times (T0) and each episode's profile code."""

from __future__ import annotations

from random import Random

from custodywatch.sim.episodes import (
    ADULT,
    AT_CHILDRENS_SUITE,
    EXEMPT,
    NO_ACCOMMODATION,
    NORMAL,
    NOT_REQUESTED,
    TRANSFER,
)
from custodywatch.sim.force import HOUR_WEIGHTS, WEEKDAY_WEIGHTS
from custodywatch.sim.targets import PUBLISHED, Targets, quotas_for
from custodywatch.sim.timefmt import DAY, HOUR, Calendar


def arrival_times(rng: Random, cal: Calendar, start: int, end: int, n: int) -> list[int]:
    """`n` sorted T0s in [start, end): hour-of-day x weekday weights, local time.

    Inverse-CDF sampling of a piecewise-constant rate: `n` sorted uniforms are
    walked through the cumulative weights of the hourly slots; within a slot the
    map is linear, so the times come out sorted.
    """
    if n == 0 or end <= start:
        return []
    lows: list[int] = []
    widths: list[int] = []
    cumulative: list[float] = []
    total = 0.0
    hour = start - start % HOUR
    while hour < end:
        local = hour + cal.local_offset[cal.index(hour)]
        weekday = cal.weekday[cal.index(local)]  # of the local date
        weight = HOUR_WEIGHTS[(local % DAY) // HOUR] * WEEKDAY_WEIGHTS[weekday]
        lo, hi = max(hour, start), min(hour + HOUR, end)
        total += weight * (hi - lo) / HOUR
        lows.append(lo)
        widths.append(hi - lo)
        cumulative.append(total)
        hour += HOUR
    rnd = rng.random
    points = sorted([rnd() * total for _ in range(n)])
    times: list[int] = []
    append = times.append
    j, below = 0, 0.0
    last = len(cumulative) - 1
    for u in points:
        while u >= cumulative[j] and j < last:
            below = cumulative[j]
            j += 1
        span = cumulative[j] - below
        fraction = (u - below) / span if span > 0 else 0.0
        append(lows[j] + min(int(fraction * widths[j]), widths[j] - 1))
    return times


def episode_codes(rng: Random, n: int, targets: Targets = PUBLISHED) -> bytearray:
    """One profile code per episode: exact scaled quotas, placed at random.

    Children, their post-charge outcomes and their booking at a children's suite
    are exact counts (`quotas_for`), so that small published figures (21
    transfers, 3 requests not made) are met exactly rather than on average.
    """
    q = quotas_for(n, targets)
    codes = bytearray([ADULT]) * n
    profiles = (
        [EXEMPT] * q.exempt
        + [TRANSFER] * q.transferred
        + [NOT_REQUESTED] * q.not_requested
        + [NO_ACCOMMODATION] * q.no_accommodation
    )
    children = min(max(q.children, len(profiles)), n)
    profiles = profiles[:children]
    profiles += [NORMAL] * (children - len(profiles))
    rng.shuffle(profiles)
    at_childrens_suite = set(rng.sample(range(children), min(q.childrens_suite, children)))
    for j, position in enumerate(rng.sample(range(n), children)):
        codes[position] = profiles[j] | (AT_CHILDRENS_SUITE if j in at_childrens_suite else 0)
    return codes
