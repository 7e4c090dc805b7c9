"""Deterministic custody traffic: a configuration in, JSONL lines out, in event-time order.

Pure: no I/O, no Kafka, no wall clock. One `random.Random(seed)` drives
everything, so the same configuration gives byte-identical output.

How a run is built:

1. the number of detentions N (the published rate over `months`, or given) and
   exact quotas for the published counts scaled to N, placed at random among
   the N episodes (`schedule.episode_codes`);
2. N arrival times (T0) from hour-of-day x weekday weights in local time
   (`schedule.arrival_times`), in order;
3. each episode's events: most from the precomputed pools (`pools`, the fast
   path below), the rest from the full model (`episodes.EpisodeFactory`);
4. each event rendered to a line from precomputed fragments (`render`) and put
   in the bucket of its time (an hour wide). A bucket is complete once the next
   T0 is past its end, since no later episode has anything earlier than its T0;
   it is then sorted and emitted. Every line starts with its `occurred_at` in
   one fixed-width format, so sorting the lines as text sorts them by time
   (equal times in text order; an episode's own events never share a second
   with its first or last). So lines come out in global `occurred_at` order;
5. now and then (geometric gaps, `mistake_rate` per valid event) an extra,
   deliberately bad line derived from an episode's first or last event, at its
   time (`mistakes`).

`records` reads the lines back as Kafka records.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from itertools import count
from random import Random

from custodywatch.sim import render as r
from custodywatch.sim.behaviour import SIGMA_ADULT, SIGMA_CHILD
from custodywatch.sim.config import Run, SimConfig
from custodywatch.sim.dates_of_birth import Dobs
from custodywatch.sim.draw import geometric_gap
from custodywatch.sim.durations import (
    CONTROL_SHIFT,
    DurationControls,
    bounded_high,
    bounded_low,
    clock_driven_minutes,
    target_seconds,
)
from custodywatch.sim.episodes import EpisodeFactory
from custodywatch.sim.mistakes import Mistake, MistakeMaker
from custodywatch.sim.pools import (
    MULTIPLIER_BITS,
    PersonRefs,
    lognormal_pool,
    person_pool,
    record_ids,
    timing_pool,
)
from custodywatch.sim.profiles import (
    ADULT,
    AT_CHILDRENS_SUITE,
    FEATURE_SHIFT,
    NORMAL,
    PROFILE_MASK,
    Feature,
)
from custodywatch.sim.schedule import arrival_times, episode_codes
from custodywatch.sim.targets import Targets
from custodywatch.sim.timefmt import DAY, HOUR, Calendar, minute_second, time_of_day

MistakeLog = dict[str, tuple[str, Mistake]]
"""Bad line -> (its Kafka key, what is wrong with it). Bad lines are unique."""

FAST_ADULT, FAST_CHILD, FAST_REMAND, FULL_MODEL = 0, 1, 2, 3


def route(code: int) -> int:
    """Which code path builds an episode with this code."""
    profile, feature = code & PROFILE_MASK, code >> FEATURE_SHIFT
    if profile == ADULT and feature == Feature.REMANDED:
        return FAST_REMAND
    if feature == Feature.NONE and profile in (ADULT, NORMAL):
        return FAST_ADULT if profile == ADULT else FAST_CHILD
    return FULL_MODEL


RING = 2048  # hour buckets in flight: 85 days, far more than any episode lasts
MAX_EPISODE = (RING - 2) * HOUR
WINDOW_DAYS = 5
"""A fast-path episode happens within 5 days from 00:00 UTC of the day before T0's
date (arrest is at most 7 hours before T0; a remand waits at most for Monday's
court, about 2.5 days after T0). Its times are kept as seconds after that
midnight: small numbers, whose hour (of the window) picks the bucket and the
'YYYY-MM-DDTHH:' text, and whose remainder the 'MM:SS+00:00' text."""


def _count_episodes(
    controls: DurationControls,
    cal: Calendar,
    arrivals: list[int],
    codes: bytearray,
    targets: Targets,
) -> None:
    """Tell `controls` about each (group, month) of the run: its episodes, and what to expect.

    `arrivals` are seconds after the calendar's first day; counted a month at a
    time (`Counter` of a slice of codes), not episode by episode.
    """
    first = 0
    while first < len(arrivals):
        day = arrivals[first] // DAY
        month = cal.month_index[day]
        next_day = day
        while next_day < len(cal.month_index) and cal.month_index[next_day] == month:
            next_day += 1
        last = bisect_left(arrivals, next_day * DAY, first)
        for code, number in Counter(codes[first:last]).items():
            child = code & PROFILE_MASK != ADULT
            key = controls.key(month, child)
            expected = clock_driven_minutes(code)
            if expected is None:
                controls.remaining[key] += number
                continue
            surplus = expected * 60 - target_seconds(child, cal.month[day], targets)
            controls.expect(key, surplus, number)
        first = last


def _controller(
    controls: DurationControls, cal: Calendar, day: int, child: bool, targets: Targets
) -> tuple[int, int, int, int]:
    """(target, least and greatest suggested mean, controller key) of episodes starting on `day`."""
    goal = target_seconds(child, cal.month[day], targets)
    return goal, bounded_low(goal), bounded_high(goal), controls.key(cal.month_index[day], child)


def batches(  # noqa: PLR0915 (one hot loop, inlined on purpose)
    config: SimConfig, mistake_log: MistakeLog | None = None
) -> Iterator[list[str]]:
    """Batches of JSONL lines in global occurred_at order. The hot loop.

    `mistake_log`, when given, receives every deliberately bad line.
    """
    rng = Random(config.seed)
    start, end = config.start_s, config.end_s
    n = config.n_detentions
    force, targets = config.force, config.targets
    cal = config.calendar()
    run = Run.of(config)
    record_prefix = run.record_prefix
    codes = episode_codes(rng, n, targets)
    # Times in the loop are seconds after `base` (00:00 UTC of the calendar's first
    # day): small ints, which CPython adds, divides and shifts much faster.
    base = run.base
    arrivals = arrival_times(rng, cal, start, end, n, base)
    refs = PersonRefs(rng)
    people = (
        person_pool(rng, force, child=False, childrens_suite=False),
        person_pool(rng, force, child=True, childrens_suite=False),
        person_pool(rng, force, child=True, childrens_suite=True),
    )
    timings = (timing_pool(rng, child=False), timing_pool(rng, child=True))
    adult_multipliers = lognormal_pool(rng, SIGMA_ADULT)
    child_multipliers = lognormal_pool(rng, SIGMA_CHILD)
    # By code: the code path, and the pools of the fast path (ordinary people:
    # adults, children, children at a children's suite).
    routes = [route(c) for c in range(256)]
    people_of = [
        people[0 if c & PROFILE_MASK == ADULT else 2 if c & AT_CHILDRENS_SUITE else 1]
        for c in range(256)
    ]
    timings_of = [timings[c & PROFILE_MASK != ADULT] for c in range(256)]
    first_month = cal.month_index[0]
    controls = DurationControls(first_month, cal.month_index[-1] - first_month + 1)
    dobs = Dobs(cal)
    factory = EpisodeFactory(rng, cal, force, controls, dobs, targets)
    maker = MistakeMaker(rng, record_prefix)
    rate = config.mistake_rate
    gap = geometric_gap(rng, rate) if rate > 0 else 1 << 62
    log: MistakeLog = {} if mistake_log is None else mistake_log

    _count_episodes(controls, cal, arrivals, codes, targets)
    shortfall, pending, remaining = controls.shortfall, controls.pending, controls.remaining
    suggest, record = controls.suggest, controls.record
    adult_remand_expected = (
        clock_driven_minutes(ADULT | (Feature.REMANDED << FEATURE_SHIFT)) or 0
    ) * 60
    horizon = 1 << CONTROL_SHIFT
    dob_table, dob_day = dobs.table, dobs.day_index

    # '","suite_id":"<s>","event_id":"' per suite.
    head_start = r.HEAD_START
    suite_part = {s: r.suite_part(s) for s in force.suites}
    prefix, tod = cal.prefix, time_of_day()
    occurred = [r.LINE_START + p for p in prefix]  # '{"occurred_at":"YYYY-MM-DDT'
    # 'YYYY-MM-DDTHH:' by hour of the calendar, and with '{"occurred_at":"' before.
    plain_hourly = [f"{p}{hh:02d}:" for p in prefix for hh in range(24)]
    hourly = [r.LINE_START + p for p in plain_hourly]
    mmss = minute_second()  # 'MM:SS+00:00' by second of the hour
    w_hours = WINDOW_DAYS * 24
    stamped = len(r.LINE_START) + r.TIMESTAMP_WIDTH  # where a line's head starts
    bail_refused = r.BAIL_REFUSED
    released_bail, released_to_court = r.RELEASED["bail"], r.RELEASED["to_court"]
    court_time = factory.court_time
    rnd = rng.random
    getrandbits = rng.getrandbits
    build = factory.build
    # Lines wait in buckets of one hour of occurred_at: a ring, and for the fast
    # path the slice of it that its window covers (the ring's first hours appear a
    # second time after its end, so that no slice wraps).
    ring: list[list[str]] = [[] for _ in range(RING)]
    ring += ring[:w_hours]
    mask = RING - 1
    flushed = arrivals[0] // HOUR if arrivals else 0  # the buckets before this hour are out
    next_hour = next_day = 0  # when to flush buckets, when to move the window
    # Of the window and the day of T0, set when a day begins (placeholders until then).
    anchor = dob_base = 0
    buckets: list[list[str]] = []  # by hour of the window
    dates: list[str] = []  # '{"occurred_at":"YYYY-MM-DDTHH:' by hour of the window
    plain_dates: list[str] = []  # 'YYYY-MM-DDTHH:' by hour of the window
    # The day's duration controllers: children's (key, target); adults' target,
    # bounds, key and, for speed, its state in locals (`a_short` and `a_left`
    # stand for shortfall[a_key] and remaining[a_key], written back before
    # anything else reads them), with its share of `pending` taken once a day.
    c_key = c_goal = a_goal = a_low = a_high = a_key = a_bias = 0
    a_short, a_left = shortfall[a_key], remaining[a_key]
    numbers = count(1)

    def mistake(t: int, text: str, suite: str, record_id: str) -> None:
        """An extra, deliberately bad line derived from the event `text` at `t`."""
        ts = prefix[t // DAY] + tod[t % DAY]
        bad, key, kind = maker.make(next(numbers), text, suite, record_id, ts)
        ring[(t // HOUR) & mask].append(bad)
        log[bad] = (key, kind)

    # The start of `detention_authorised` after the event id, with the person ref.
    ref_open, ref_close = r.AUTHORISED_OPEN, '","date_of_birth":'
    ids = record_ids(record_prefix)
    ref_a, ref_b, ref_c = refs.pieces()  # person ref = a + b + c
    episodes = zip(arrivals, codes, ids, ref_a, ref_b, ref_c, strict=False)
    for t0, code, record_id, ref1, ref2, ref3 in episodes:
        if t0 >= next_hour:
            # The buckets before this hour are complete: no later episode starts earlier.
            hour = t0 // HOUR
            while flushed < hour:
                done = ring[flushed & mask]
                if done:
                    batch = sorted(done)  # lines start with their occurred_at
                    done.clear()  # (the same list stays: `buckets` may hold it)
                    yield batch
                flushed += 1
            next_hour = (hour + 1) * HOUR
            if t0 >= next_day:
                day = t0 // DAY
                next_day = (day + 1) * DAY
                first = (day - 1) * 24  # the window's first hour
                anchor = first * HOUR
                at = first & mask
                buckets = ring[at : at + w_hours]
                dates = hourly[first : first + w_hours]
                plain_dates = plain_hourly[first : first + w_hours]
                dob_base = dob_day[day]
                c_goal, _, _, c_key = _controller(controls, cal, day, True, targets)
                shortfall[a_key], remaining[a_key] = a_short, a_left
                a_goal, a_low, a_high, a_key = _controller(controls, cal, day, False, targets)
                a_short, a_left = shortfall[a_key], remaining[a_key]
                a_bias = a_goal - pending[a_key] // max(a_left, 1)

        path = routes[code]
        if path == FULL_MODEL:
            # The full model: every event carries its suite (transfers move it).
            shortfall[a_key], remaining[a_key] = a_short, a_left
            events = build(ref1 + ref2 + ref3, t0, code)
            a_short, a_left = shortfall[a_key], remaining[a_key]
            if events[-1][0] - t0 > MAX_EPISODE:
                raise AssertionError("episode longer than the merge window")
            for t, text, suite in events:
                ring[(t // HOUR) & mask].append(
                    f"{occurred[t // DAY]}{tod[t % DAY]}{head_start}{record_id}"
                    f"{suite_part[suite]}{record_id}/{text}"
                )
            gap -= len(events)
            while gap <= 0:
                t, text, suite = events[0] if rnd() < 0.5 else events[-1]
                mistake(t, text, suite, record_id)
                gap += geometric_gap(rng, rate)
            continue

        # The fast path: an ordinary episode assembled from the pools. Times are
        # seconds after `anchor`, the start of the window; lines go straight into
        # their buckets (this is the hottest code of the simulator).
        suite, in_suite, middle, ptail, dob_back, charge = people_of[code][getrandbits(10)]
        (
            booking,
            travel,
            cap,
            charge_back,
            remand_charge,
            remand_refuse,
            disposal,
            times,
            tails,
        ) = timings_of[code][getrandbits(10)]
        s0 = t0 - anchor
        head = f"{head_start}{record_id}{in_suite}{record_id}/"
        if path == FAST_ADULT:
            # DurationControls.suggest and .record, inlined (integer arithmetic).
            mean = a_bias + (a_short >> CONTROL_SHIFT if a_left > horizon else a_short // a_left)
            if mean < a_low:
                mean = a_low
            elif mean > a_high:
                mean = a_high
            d = (mean * adult_multipliers[getrandbits(10)]) >> MULTIPLIER_BITS
            if d > cap:
                d = cap - int(rnd() * 4 * HOUR)
            if d < 1200:  # noqa: PLR1730 (a branch is cheaper than max() here)
                d = 1200
            a_short += a_goal - d
            a_left -= 1
        elif path == FAST_CHILD:
            d = (suggest(c_key, c_goal) * child_multipliers[getrandbits(10)]) >> MULTIPLIER_BITS
            if d > cap:
                d = cap - int(rnd() * 4 * HOUR)
            if d < 1200:  # noqa: PLR1730 (as above)
                d = 1200
            record(c_key, c_goal, d)
        else:
            # Remanded: charged, bail refused, kept for the morning court.
            charged = s0 + remand_charge
            refused = charged + remand_refuse
            d = court_time(anchor + refused + 150 * 60) - anchor - s0
            if s0 + d >= WINDOW_DAYS * DAY:
                raise AssertionError("remand beyond the fast path's window")
            a_short += a_goal - d
            pending[a_key] -= adult_remand_expected - a_goal
            a_left -= 1
            h = charged // HOUR
            buckets[h].append(f"{dates[h]}{mmss[charged % HOUR]}{head}{charge}")
            h = refused // HOUR
            buckets[h].append(f"{dates[h]}{mmss[refused % HOUR]}{head}{bail_refused}")
            gap -= 2
            charge_back, disposal = 0, released_to_court  # not bailed: to court
        end_s = s0 + d
        arrived = s0 - booking
        arrested = arrived - travel
        dob = "null" if dob_back < 0 else dob_table[dob_base - dob_back]
        h = s0 // HOUR
        opening = (
            f"{dates[h]}{mmss[s0 % HOUR]}{head}{ref_open}{ref1}{ref2}{ref3}{ref_close}{dob}{middle}"
            f"{plain_dates[arrested // HOUR]}{mmss[arrested % HOUR]}"
            f'","arrived_at":"{plain_dates[arrived // HOUR]}{mmss[arrived % HOUR]}{ptail}'
        )
        buckets[h].append(opening)
        n = 0  # steps before the end
        for offset in times:
            if offset >= d:
                break
            s = s0 + offset
            h = s // HOUR
            buckets[h].append(f"{dates[h]}{mmss[s % HOUR]}{head}{tails[n]}")
            n += 1
        n_events = n + 2
        if charge_back and d >= 7200:  # charged and bailed: only after two hours
            s = end_s - charge_back
            h = s // HOUR
            buckets[h].append(f"{dates[h]}{mmss[s % HOUR]}{head}{charge}")
            n_events += 1
            end_text = released_bail
        else:
            end_text = disposal
        h = end_s // HOUR
        buckets[h].append(f"{dates[h]}{mmss[end_s % HOUR]}{head}{end_text}")
        gap -= n_events
        while gap <= 0:
            # A deliberate mistake, derived from the opening or the closing event.
            if rnd() < 0.5:
                mistake(t0, opening[stamped + len(head) :], suite, record_id)
            else:
                mistake(anchor + end_s, end_text, suite, record_id)
            gap += geometric_gap(rng, rate)

    # Whatever is left, in the order of the ring from the next hour to flush.
    for hour in range(flushed, flushed + RING):
        done = ring[hour & mask]
        if done:
            yield sorted(done)


def iter_lines(config: SimConfig) -> Iterator[str]:
    """JSONL lines, each ending in a newline, in occurred_at order."""
    for batch in batches(config):
        yield from batch
