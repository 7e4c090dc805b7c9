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
   in the bucket of its time (4096 s wide). A bucket is complete once the next
   T0 is past its end, since no later episode has anything earlier than its T0;
   it is then sorted and emitted. Every line starts with its `occurred_at` in
   one fixed-width format, so sorting the lines as text sorts them by time
   (equal times in text order; an episode's own events never share a second
   with its first or last). So lines come out in global `occurred_at` order;
5. now and then (geometric gaps, `mistake_rate` per valid event) an extra,
   deliberately bad line derived from an episode's first or last event, at its
   time (`mistakes`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from datetime import date
from random import Random

from custodywatch.sim import render as r
from custodywatch.sim.config import Run, SimConfig
from custodywatch.sim.draw import geometric_gap
from custodywatch.sim.episodes import (
    ADULT,
    AT_CHILDRENS_SUITE,
    CONTROL_SHIFT,
    FEATURE_SHIFT,
    NORMAL,
    PROFILE_MASK,
    SIGMA_ADULT,
    SIGMA_CHILD,
    Dobs,
    DurationControls,
    EpisodeFactory,
    Feature,
    bounded_high,
    bounded_low,
    clock_driven_minutes,
    target_seconds,
)
from custodywatch.sim.mistakes import Mistake, MistakeMaker
from custodywatch.sim.pools import (
    MULTIPLIER_BITS,
    POOL_BITS,
    POOL_SIZE,
    PersonRefs,
    lognormal_pool,
    person_pool,
    timing_pool,
)
from custodywatch.sim.schedule import arrival_times, episode_codes
from custodywatch.sim.targets import Targets
from custodywatch.sim.timefmt import DAY, HOUR, Calendar, time_of_day

MistakeLog = dict[str, tuple[str, Mistake]]
"""Bad line -> (its Kafka key, what is wrong with it). Bad lines are unique."""

FAST, FAST_REMAND, FULL_MODEL = 0, 1, 2


def route(code: int) -> int:
    """Which code path builds an episode with this code."""
    profile, feature = code & PROFILE_MASK, code >> FEATURE_SHIFT
    if profile == ADULT and feature == Feature.REMANDED:
        return FAST_REMAND
    if profile in (ADULT, NORMAL) and feature == Feature.NONE:
        return FAST
    return FULL_MODEL


BUCKET_BITS = 12  # lines are sorted in buckets of 4096 s of occurred_at
RING = 1024  # buckets in flight: 48 days, far more than any episode lasts
MAX_EPISODE = (RING - 2) << BUCKET_BITS


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
        for code, count in Counter(codes[first:last]).items():
            child = code & PROFILE_MASK != ADULT
            key = controls.key(month, child)
            expected = clock_driven_minutes(code)
            if expected is None:
                controls.remaining[key] += count
                continue
            surplus = expected * 60 - target_seconds(child, cal.month[day], targets)
            controls.expect(key, surplus, count)
        first = last


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
    ref_first, ref_offset, ref_last = refs.first, refs.offset, refs.last
    people = (
        person_pool(rng, force, child=False, childrens_suite=False),
        person_pool(rng, force, child=True, childrens_suite=False),
        person_pool(rng, force, child=True, childrens_suite=True),
    )
    timings = (timing_pool(rng, child=False), timing_pool(rng, child=True))
    # Pool of ordinary people by profile code (adult, child, child at a children's suite).
    people_by_code = [
        people[0 if c & PROFILE_MASK == ADULT else 2 if c & AT_CHILDRENS_SUITE else 1]
        for c in range(256)
    ]
    routes = [route(c) for c in range(256)]
    child_of = [int(c & PROFILE_MASK != ADULT) for c in range(256)]
    multipliers = (lognormal_pool(rng, SIGMA_ADULT), lognormal_pool(rng, SIGMA_CHILD))
    first_month = cal.month_index[0]
    controls = DurationControls(first_month, cal.month_index[-1] - first_month + 1)
    dobs = Dobs(cal)
    factory = EpisodeFactory(rng, cal, force, controls, dobs, targets)
    maker = MistakeMaker(rng, record_prefix)
    mistakes = 0
    rate = config.mistake_rate
    gap = geometric_gap(rng, rate) if rate > 0 else 1 << 62
    log: MistakeLog = {} if mistake_log is None else mistake_log

    # Per calendar day, adults [0] and children [1]: controller key and target mean.
    days = range(len(cal.prefix))
    control_key = [[controls.key(cal.month_index[i], bool(c)) for i in days] for c in (0, 1)]
    _count_episodes(controls, cal, arrivals, codes, targets)
    target = [[target_seconds(bool(c), cal.month[i], targets) for i in days] for c in (0, 1)]
    shortfall, pending, remaining = controls.shortfall, controls.pending, controls.remaining
    adult_remand_expected = (
        clock_driven_minutes(ADULT | (Feature.REMANDED << FEATURE_SHIFT)) or 0
    ) * 60
    # (target, least and greatest suggested mean) per day, adults [0] and children [1].
    goals = [[(g, bounded_low(g), bounded_high(g)) for g in target[c]] for c in (0, 1)]
    horizon = 1 << CONTROL_SHIFT
    dob_table, dob_day = dobs.table, dobs.day_index

    # '","suite_id":"<s>","event_id":"' per suite.
    head_start = r.HEAD_START
    suite_part = {s: r.head("", s)[len(head_start) : -1] for s in force.suites}
    prefix, tod = cal.prefix, time_of_day()
    occurred = [r.LINE_START + p for p in prefix]  # '{"occurred_at":"YYYY-MM-DDT'
    aa_requested, aa_arrived, bail_refused = r.AA_REQUESTED, r.AA_ARRIVED, r.BAIL_REFUSED
    released_bail, released_to_court = r.RELEASED["bail"], r.RELEASED["to_court"]
    auth_open = r.AUTHORISED_OPEN
    court_time = factory.court_time
    rnd = rng.random
    build = factory.build
    getrandbits = rng.getrandbits
    pool_mask = POOL_SIZE - 1
    ring: list[list[str]] = [[] for _ in range(RING)]
    mask = RING - 1
    flushed = (arrivals[0] >> BUCKET_BITS) if arrivals else 0
    last_bucket = flushed
    for k, t0 in enumerate(arrivals):
        bucket = t0 >> BUCKET_BITS
        while flushed < bucket:
            done = ring[flushed & mask]
            if done:
                ring[flushed & mask] = []
                done.sort()  # lines start with their occurred_at
                yield done
            flushed += 1

        code = codes[k]
        child = child_of[code]
        path = routes[code]
        record_id = f"{record_prefix}{k}"
        a = k % 10_000  # PersonRefs, inlined
        person_ref = ref_first[a] + ref_last[(ref_offset[a] + k // 10_000) % 10_000]
        remanded = path == FAST_REMAND

        if path == FULL_MODEL:
            # The full model: every event carries its suite (transfers move it).
            events = build(person_ref, t0 + base, code)
            if events[-1][0] - base - t0 > MAX_EPISODE:
                raise AssertionError("episode longer than the merge window")
            last_t = events[-1][0] - base
            for t_abs, text, suite in events:
                t = t_abs - base
                ring[(t >> BUCKET_BITS) & mask].append(
                    f"{occurred[t // DAY]}{tod[t % DAY]}{head_start}{record_id}"
                    f"{suite_part[suite]}{record_id}/{text}"
                )
            gap -= len(events)
            while gap <= 0:
                t, text, suite = events[0] if rnd() < 0.5 else events[-1]
                t -= base
                mistakes += 1
                ts = prefix[t // DAY] + tod[t % DAY]
                bad, key, kind = maker.make(mistakes, text, suite, record_id, ts)
                ring[(t >> BUCKET_BITS) & mask].append(bad)
                log[bad] = (key, kind)
                gap += geometric_gap(rng, rate)
        else:
            # The fast path: an ordinary episode assembled from the pools.
            # One draw picks the person, the timings and the duration multiplier.
            bits = getrandbits(3 * POOL_BITS)
            suite, middle, ptail, dob_back, charge = people_by_code[code][bits & pool_mask]
            (
                booking,
                travel,
                aa_req,
                aa_arr,
                reviews,
                charge_back,
                disposal,
                remand_charge,
                remand_refuse,
            ) = timings[child][(bits >> POOL_BITS) & pool_mask]
            day = t0 // DAY
            key_i = control_key[child][day]
            if remanded:
                # Charged, bail refused, kept for the morning court.
                charged_at = t0 + min(remand_charge, DAY - booking - 1800)
                refused_at = charged_at + remand_refuse
                end_t = court_time(refused_at + base + 150 * 60) - base
                d = end_t - t0
                goal = target[0][day]
                shortfall[key_i] += goal - d
                pending[key_i] -= adult_remand_expected - goal
                remaining[key_i] -= 1
            else:
                # DurationControls.suggest and .record, inlined (integer arithmetic).
                goal, low, high = goals[child][day]
                short, left = shortfall[key_i], remaining[key_i]
                mean = (
                    goal
                    + (short >> CONTROL_SHIFT if left > horizon else short // left)
                    - pending[key_i] // left
                )
                if mean < low:
                    mean = low
                elif mean > high:
                    mean = high
                d = (mean * multipliers[child][bits >> (2 * POOL_BITS)]) >> MULTIPLIER_BITS
                cap = DAY - booking - 600  # before the 24h limit from arrival
                if d > cap:
                    d = cap - int(rnd() * 4 * HOUR)
                if d < 1200:  # noqa: PLR1730 (a branch is cheaper than max() here)
                    d = 1200
                end_t = t0 + d
                shortfall[key_i] = short + goal - d
                remaining[key_i] = left - 1
            arrived = t0 - booking
            arrested = arrived - travel
            dob = "null" if dob_back < 0 else dob_table[dob_day[day] - dob_back]
            # Lines go straight into their buckets (no intermediate list: this is
            # the hottest code of the simulator).
            head = f"{head_start}{record_id}{suite_part[suite]}{record_id}/"
            opening = (
                f"{occurred[day]}{tod[t0 % DAY]}{head}"
                f'{auth_open}{person_ref}","date_of_birth":{dob}{middle}'
                f"{prefix[arrested // DAY]}{tod[arrested % DAY]}"
                f'","arrived_at":"{prefix[arrived // DAY]}{tod[arrived % DAY]}{ptail}'
            )
            ring[(t0 >> BUCKET_BITS) & mask].append(opening)
            n_events = 2
            if 0 <= aa_req < d:
                t = t0 + aa_req
                ring[(t >> BUCKET_BITS) & mask].append(
                    f"{occurred[t // DAY]}{tod[t % DAY]}{head}{aa_requested}"
                )
                n_events += 1
                if aa_arr < d:
                    t = t0 + aa_arr
                    ring[(t >> BUCKET_BITS) & mask].append(
                        f"{occurred[t // DAY]}{tod[t % DAY]}{head}{aa_arrived}"
                    )
                    n_events += 1
            for offset, review in reviews:
                if offset >= d:
                    break
                t = t0 + offset
                ring[(t >> BUCKET_BITS) & mask].append(
                    f"{occurred[t // DAY]}{tod[t % DAY]}{head}{review}"
                )
                n_events += 1
            if remanded:
                t = charged_at
                ring[(t >> BUCKET_BITS) & mask].append(
                    f"{occurred[t // DAY]}{tod[t % DAY]}{head}{charge}"
                )
                t = refused_at
                ring[(t >> BUCKET_BITS) & mask].append(
                    f"{occurred[t // DAY]}{tod[t % DAY]}{head}{bail_refused}"
                )
                n_events += 2
                end_text = released_to_court
            elif charge_back and d >= 2 * HOUR:
                t = end_t - charge_back
                ring[(t >> BUCKET_BITS) & mask].append(
                    f"{occurred[t // DAY]}{tod[t % DAY]}{head}{charge}"
                )
                n_events += 1
                end_text = released_bail
            else:
                end_text = disposal
            t = end_t
            ring[(t >> BUCKET_BITS) & mask].append(
                f"{occurred[t // DAY]}{tod[t % DAY]}{head}{end_text}"
            )
            last_t = end_t
            gap -= n_events
            while gap <= 0:
                # A deliberate mistake, derived from the opening or the closing event.
                if rnd() < 0.5:
                    t, text = t0, opening[len(occurred[day]) + len(tod[0]) + len(head) :]
                else:
                    t, text = end_t, end_text
                mistakes += 1
                ts = prefix[t // DAY] + tod[t % DAY]
                bad, key, kind = maker.make(mistakes, text, suite, record_id, ts)
                ring[(t >> BUCKET_BITS) & mask].append(bad)
                log[bad] = (key, kind)
                gap += geometric_gap(rng, rate)

        if last_t >> BUCKET_BITS > last_bucket:  # noqa: PLR1730 (hot loop: no max() call)
            last_bucket = last_t >> BUCKET_BITS
    while flushed <= last_bucket:
        done = ring[flushed & mask]
        if done:
            ring[flushed & mask] = []
            done.sort()
            yield done
        flushed += 1


def iter_lines(config: SimConfig) -> Iterator[str]:
    """JSONL lines, each ending in a newline, in occurred_at order."""
    for batch in batches(config):
        yield from batch


def record_id_of(line: str) -> str:
    """The custody_record_id of a valid generated line (it sits at a fixed offset)."""
    return line[r.RECORD_ID_AT : line.index('"', r.RECORD_ID_AT)]


def seconds_of(line: str) -> int:
    """Epoch seconds of a generated line's occurred_at (the line's fixed-width start)."""
    at = len(r.LINE_START)
    day_text = line[at : at + 10]
    day = _DAY_NUMBERS.get(day_text)
    if day is None:
        day = _DAY_NUMBERS[day_text] = date.fromisoformat(day_text).toordinal() - _EPOCH_ORDINAL
    hours, minutes, seconds = (
        line[at + 11 : at + 13],
        line[at + 14 : at + 16],
        line[at + 17 : at + 19],
    )
    return day * DAY + int(hours) * 3600 + int(minutes) * 60 + int(seconds)


_DAY_NUMBERS: dict[str, int] = {}  # 'YYYY-MM-DD' -> days since the epoch (a cache)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def iter_tagged(config: SimConfig) -> Iterator[tuple[int, str, str, Mistake]]:
    """(occurred_at epoch seconds, Kafka key, line, Mistake): tells deliberate bugs apart."""
    log: MistakeLog = {}
    for batch in batches(config, log):
        for line in batch:
            bad = log.pop(line, None) if log else None
            if bad is None:
                yield seconds_of(line), record_id_of(line), line, Mistake.NONE
            else:
                yield seconds_of(line), bad[0], line, bad[1]


def iter_records(config: SimConfig) -> Iterator[tuple[int, bytes, bytes]]:
    """(occurred_at in microseconds, Kafka key, Kafka value), for a paced producer.

    The key is the custody_record_id (UTF-8), the value one JSON object without
    the newline. Deliberate mistakes are included, keyed by the record they were
    derived from (or their orphan record id).
    """
    for at, key, line, _ in iter_tagged(config):
        yield at * 1_000_000, key.encode(), line[:-1].encode()
