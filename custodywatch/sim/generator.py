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
   it is then stably sorted by time (equal times keep generation order) and
   emitted. So lines come out in global `occurred_at` order;
5. now and then (geometric gaps, `mistake_rate` per valid event) an extra,
   deliberately bad line right after a valid one (`mistakes`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from random import Random

from custodywatch.sim import render as r
from custodywatch.sim.config import Run, SimConfig
from custodywatch.sim.draw import Weighted, geometric_gap
from custodywatch.sim.episodes import (
    ADULT,
    AT_CHILDRENS_SUITE,
    CONTROL_GAIN,
    NORMAL,
    P_ADULT_AGE_CORRECTION,
    P_ADULT_EXTENDED,
    P_ADULT_REMANDED,
    P_CHILD_AGE_CORRECTION,
    P_SUITE_TRANSFER_ADULT,
    P_SUITE_TRANSFER_CHILD,
    PROFILE_MASK,
    SIGMA_ADULT,
    SIGMA_CHILD,
    Dobs,
    DurationControls,
    EpisodeFactory,
    Feature,
    target_seconds,
)
from custodywatch.sim.mistakes import Mistake, MistakeMaker
from custodywatch.sim.pools import POOL_SIZE, lognormal_pool, person_pool, timing_pool
from custodywatch.sim.schedule import arrival_times, episode_codes
from custodywatch.sim.timefmt import DAY, HOUR, time_of_day


MistakeLog = dict[str, tuple[str, Mistake]]
"""Bad line -> (its Kafka key, what is wrong with it). Bad lines are unique."""

RARE_ADULT = Weighted(
    (Feature.AGE_CORRECTION, Feature.SUITE_TRANSFER, Feature.EXTENDED, Feature.REMANDED),
    (P_ADULT_AGE_CORRECTION, P_SUITE_TRANSFER_ADULT, P_ADULT_EXTENDED, P_ADULT_REMANDED),
)
P_RARE_ADULT = P_ADULT_AGE_CORRECTION + P_SUITE_TRANSFER_ADULT + P_ADULT_EXTENDED + P_ADULT_REMANDED
RARE_CHILD = Weighted(
    (Feature.AGE_CORRECTION, Feature.SUITE_TRANSFER),
    (P_CHILD_AGE_CORRECTION, P_SUITE_TRANSFER_CHILD),
)
P_RARE_CHILD = P_CHILD_AGE_CORRECTION + P_SUITE_TRANSFER_CHILD

BUCKET_BITS = 12  # lines are sorted in buckets of 4096 s of occurred_at
RING = 1024  # buckets in flight: 48 days, far more than any episode lasts
MAX_EPISODE = (RING - 2) << BUCKET_BITS


def batches(config: SimConfig, mistake_log: MistakeLog | None = None) -> Iterator[list[str]]:
    """Batches of JSONL lines in global occurred_at order. The hot loop.

    `mistake_log`, when given, receives every deliberately bad line.
    """
    rng = Random(config.seed)
    start, end = config.start_s, config.end_s
    n = config.n_detentions
    force, targets = config.force, config.targets
    cal = config.calendar()
    run = Run.of(config)
    record_prefix, event_prefix = run.record_prefix, run.event_prefix
    codes = episode_codes(rng, n, targets)
    arrivals = arrival_times(rng, cal, start, end, n)
    person_offset = int(rng.random() * 100_000_000)
    people = (
        person_pool(rng, force, child=False, childrens_suite=False),
        person_pool(rng, force, child=True, childrens_suite=False),
        person_pool(rng, force, child=True, childrens_suite=True),
    )
    timings = (timing_pool(rng, child=False), timing_pool(rng, child=True))
    multipliers = (lognormal_pool(rng, SIGMA_ADULT), lognormal_pool(rng, SIGMA_CHILD))
    first_month = cal.month_index[0]
    controls = DurationControls(first_month, cal.month_index[-1] - first_month + 1)
    dobs = Dobs(cal)
    factory = EpisodeFactory(rng, cal, force, controls, dobs, targets)
    maker = MistakeMaker(rng, record_prefix, event_prefix)
    rate = config.mistake_rate
    gap = geometric_gap(rng, rate) if rate > 0 else 1 << 62
    log: MistakeLog = {} if mistake_log is None else mistake_log

    # Per calendar day, adults [0] and children [1]: controller key and target mean.
    days = range(len(cal.prefix))
    control_key = [[controls.key(cal.month_index[i], bool(c)) for i in days] for c in (0, 1)]
    target = [[target_seconds(bool(c), cal.month[i], targets) for i in days] for c in (0, 1)]
    counts, totals = controls.counts, controls.totals
    gain = CONTROL_GAIN
    iso_dates, day_ordinal = dobs.iso, cal.ordinal
    age_days = [round(age * 365.2425) for age in range(128)]

    # '","suite_id":"<s>","event_id":"<prefix>' per suite.
    head_start = r.HEAD_START
    suite_part = {s: r.head("", s, event_prefix)[len(head_start) :] for s in force.suites}
    prefix, d0, tod = cal.prefix, cal.first_day, time_of_day()
    occurred = [r.LINE_START + p for p in prefix]  # '{"occurred_at":"YYYY-MM-DDT'
    aa_requested, aa_arrived, bail_refused = r.AA_REQUESTED, r.AA_ARRIVED, r.BAIL_REFUSED
    released_bail, released_to_court = r.RELEASED["bail"], r.RELEASED["to_court"]
    auth_open = r.AUTHORISED_OPEN
    court_time = factory.court_time
    rnd = rng.random
    build = factory.build
    pool_size = float(POOL_SIZE)
    ring: list[list[str]] = [[] for _ in range(RING)]
    mask = RING - 1
    flushed = (arrivals[0] >> BUCKET_BITS) if arrivals else 0
    last_bucket = flushed
    seq = 0
    month = cal.month_index[arrivals[0] // DAY - d0] if arrivals else 0
    fast: list[tuple[int, str]]
    for k, t0 in enumerate(arrivals):
        bucket = t0 >> BUCKET_BITS
        if flushed < bucket:
            while flushed < bucket:
                done = ring[flushed & mask]
                if done:
                    ring[flushed & mask] = []
                    done.sort()  # lines start with their occurred_at
                    yield done
                flushed += 1
            if cal.month_index[t0 // DAY - d0] != month:
                day = t0 // DAY - d0
                for c in (False, True):
                    old_target = target_seconds(c, month % 12 + 1, targets)
                    new_key = controls.key(cal.month_index[day], c)
                    controls.carry(controls.key(month, c), old_target, new_key)
                month = cal.month_index[day]

        code = codes[k]
        profile = code & PROFILE_MASK
        child = profile != ADULT
        feature = Feature.NONE
        if profile == ADULT:
            u = rnd()
            if u < P_RARE_ADULT:
                feature = RARE_ADULT.pick(u / P_RARE_ADULT)
        elif profile == NORMAL:
            u = rnd()
            if u < P_RARE_CHILD:
                feature = RARE_CHILD.pick(u / P_RARE_CHILD)
        record_id = f"{record_prefix}{k}"
        # A bijection of k on [0, 2**26): pseudonymous, unique, not sequential.
        x = (k * 0x2C1B3C6D + person_offset) & 0x3FFFFFF
        x = ((x ^ (x >> 13)) * 0x297A2D39) & 0x3FFFFFF
        person_ref = f"P-{x ^ (x >> 11):08d}"
        remanded = feature == Feature.REMANDED

        if (feature and not remanded) or (child and profile != NORMAL):
            # The full model: every event carries its suite (transfers move it).
            events = build(person_ref, t0, code, feature)
            if events[-1][0] - t0 > MAX_EPISODE:
                raise AssertionError("episode longer than the merge window")
            last_t = events[-1][0]
            for t, text, suite in events:
                seq += 1
                ring[(t >> BUCKET_BITS) & mask].append(
                    f"{occurred[t // DAY - d0]}{tod[t % DAY]}{head_start}{record_id}"
                    f"{suite_part[suite]}{seq}{text}"
                )
            gap -= len(events)
            while gap <= 0:
                t, text, suite = events[len(events) - 1 + gap]
                seq += 1
                ts = prefix[t // DAY - d0] + tod[t % DAY]
                bad, key, kind = maker.make(seq, text, suite, record_id, ts)
                ring[(t >> BUCKET_BITS) & mask].append(bad)
                log[bad] = (key, kind)
                gap += geometric_gap(rng, rate)
        else:
            # The fast path: an ordinary episode assembled from the pools.
            suite, middle, ptail, age, dob_days, charge = people[
                (2 if code & AT_CHILDRENS_SUITE else 1) if child else 0
            ][int(rnd() * pool_size)]
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
            ) = timings[child][int(rnd() * pool_size)]
            day = t0 // DAY - d0
            key_i = control_key[child][day]
            if remanded:
                # Charged, bail refused, kept for the morning court.
                charged_at = t0 + min(remand_charge, DAY - booking - 1800)
                refused_at = charged_at + remand_refuse
                end_t = court_time(refused_at + 150 * 60)
                d = end_t - t0
            else:
                goal = target[child][day]
                mean = goal + (counts[key_i] * goal - totals[key_i]) * gain
                if mean < 0.35 * goal:
                    mean = 0.35 * goal
                elif mean > 1.8 * goal:
                    mean = 1.8 * goal
                d = int(mean * multipliers[child][int(rnd() * pool_size)])
                cap = DAY - booking - 600  # before the 24h limit from arrival
                if d > cap:
                    d = cap - int(rnd() * 4 * HOUR)
                if d < 1200:  # noqa: PLR1730 (a branch is cheaper than max() here)
                    d = 1200
                end_t = t0 + d
            counts[key_i] += 1
            totals[key_i] += d
            arrived = t0 - booking
            arrested = arrived - travel
            if dob_days < 0:
                dob = "null"
            else:
                # `age` years before T0 to within a day (see Dobs), so the age holds.
                born = day_ordinal[day] - age_days[age] - dob_days
                dob = iso_dates.get(born) or dobs.iso_of(born)
            fast = [
                (
                    t0,
                    f'{auth_open}{person_ref}","date_of_birth":{dob}{middle}'
                    f"{prefix[arrested // DAY - d0]}{tod[arrested % DAY]}"
                    f'","arrived_at":"{prefix[arrived // DAY - d0]}{tod[arrived % DAY]}{ptail}',
                )
            ]
            if 0 <= aa_req < d:
                fast.append((t0 + aa_req, aa_requested))
                if aa_arr < d:
                    fast.append((t0 + aa_arr, aa_arrived))
            for offset, review in reviews:
                if offset >= d:
                    break
                fast.append((t0 + offset, review))
            if remanded:
                fast.append((charged_at, charge))
                fast.append((refused_at, bail_refused))
                fast.append((end_t, released_to_court))
            elif charge_back and d >= 2 * HOUR:
                fast.append((end_t - charge_back, charge))
                fast.append((end_t, released_bail))
            else:
                fast.append((end_t, disposal))
            last_t = end_t
            head = f"{head_start}{record_id}{suite_part[suite]}"
            for t, text in fast:
                seq += 1
                ring[(t >> BUCKET_BITS) & mask].append(
                    f"{occurred[t // DAY - d0]}{tod[t % DAY]}{head}{seq}{text}"
                )
            gap -= len(fast)
            while gap <= 0:
                t, text = fast[len(fast) - 1 + gap]
                seq += 1
                ts = prefix[t // DAY - d0] + tod[t % DAY]
                bad, key, kind = maker.make(seq, text, suite, record_id, ts)
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


def seconds_of(line: str, _days: dict[str, int] | None = None) -> int:
    """Epoch seconds of a generated line's occurred_at (the line's fixed-width start)."""
    at = len(r.LINE_START)
    day_text = line[at : at + 10]
    days = _DAY_NUMBERS if _days is None else _days
    day = days.get(day_text)
    if day is None:
        day = days[day_text] = date.fromisoformat(day_text).toordinal() - _EPOCH_ORDINAL
    h, m, s = int(line[at + 11 : at + 13]), int(line[at + 14 : at + 16]), int(line[at + 17 : at + 19])
    return day * DAY + h * 3600 + m * 60 + s


_DAY_NUMBERS: dict[str, int] = {}
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
