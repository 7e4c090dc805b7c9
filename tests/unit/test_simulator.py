"""`custodywatch.sim`: determinism, validity, ordering, complete episodes, calibration, mistakes."""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import islice
from pathlib import Path
from random import Random
from zoneinfo import ZoneInfo

import pytest

from custodywatch.contract import events as ev
from custodywatch.contract.rejects import Reject, RejectReason, decode
from custodywatch.core.config import RuleConfig
from custodywatch.core.episode import age_on
from custodywatch.replay import replay_lines
from custodywatch.sim import Mistake, SimConfig, iter_lines, iter_records, iter_tagged
from custodywatch.sim.calibration import compare, format_table, measure
from custodywatch.sim.cli import add_parsers
from custodywatch.sim.force import Force
from custodywatch.sim.output import write_file
from custodywatch.sim.pools import PersonRefs, record_ids
from custodywatch.sim.targets import PUBLISHED

REJECTED_AS = {
    Mistake.MALFORMED_JSON: RejectReason.INVALID_JSON,
    Mistake.UNKNOWN_FIELD: RejectReason.UNKNOWN_FIELD,
    Mistake.TIMESTAMP_WITHOUT_OFFSET: RejectReason.TIMESTAMP_WITHOUT_OFFSET,
}
ENDS = ("released", "transferred_to_la")

SMALL = SimConfig(seed=11, detentions=3_000, months=2)


@cache
def default_run() -> tuple[tuple[int, str, str, Mistake], ...]:
    """The default ten-month run (54,929 detentions), generated once for several tests."""
    return tuple(iter_tagged(SimConfig(seed=2026)))


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not() -> None:
    first = "".join(iter_lines(SMALL))
    assert first == "".join(iter_lines(SMALL))
    other = "".join(iter_lines(SimConfig(seed=12, detentions=3_000, months=2)))
    assert other != first
    # Record and event ids carry the seed, so runs can share a topic without clashing.
    assert '"custody_record_id":"CR-b-' in first and '"custody_record_id":"CR-c-' in other


def test_streamed_record_ids_and_person_refs_match_their_definitions() -> None:
    """The generator takes ids and refs from streams made 10,000 at a time: across blocks too."""
    refs = PersonRefs(Random(7))
    n = 25_000
    first, high, low = refs.pieces()
    streamed = [a + b + c for a, b, c in islice(zip(first, high, low, strict=False), n)]
    assert streamed == [refs(k) for k in range(n)]
    assert len(set(streamed)) == n
    assert list(islice(record_ids("CR-x-"), n)) == [f"CR-x-{k}" for k in range(n)]


def test_file_output_is_the_same_bytes_as_the_iterator(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    stats = write_file(SMALL, path)
    data = path.read_bytes()
    assert data == "".join(iter_lines(SMALL)).encode()
    assert stats.lines == data.count(b"\n") and stats.bytes == len(data)
    assert data.isascii()


def test_every_valid_line_decodes_and_only_deliberate_mistakes_are_rejected() -> None:
    run = default_run()
    kinds: Counter[Mistake] = Counter()
    for _, key, line, kind in run[:120_000]:
        kinds[kind] += 1
        got = decode(line)
        if kind in REJECTED_AS:
            assert isinstance(got, Reject), line
            assert got.reason is REJECTED_AS[kind], (got, line)
            continue
        assert not isinstance(got, Reject), (got, line)
        assert got.custody_record_id == key
        assert json.loads(line)["occurred_at"].endswith("+00:00")
    assert all(kinds[k] > 0 for k in Mistake)


def test_lines_are_in_global_occurred_at_order() -> None:
    times = [at for at, *_ in default_run()]
    assert times == sorted(times)
    # The stated time of each line is its occurred_at.
    for at, _, line, kind in default_run()[::997]:
        if kind is Mistake.NONE:
            stamp = datetime.fromisoformat(json.loads(line)["occurred_at"])
            assert stamp == datetime.fromtimestamp(at, UTC)


def test_every_episode_opens_first_ends_once_and_ids_are_unique() -> None:
    opened: set[str] = set()
    ended: set[str] = set()
    orphan_records: set[str] = set()
    event_ids: set[str] = set()
    for _, key, line, kind in default_run():
        if kind in REJECTED_AS:
            continue
        data = json.loads(line)
        assert data["event_id"] not in event_ids
        event_ids.add(data["event_id"])
        record, event_type = data["custody_record_id"], data["event_type"]
        assert record == key
        if kind is Mistake.ORPHAN:
            orphan_records.add(record)
            continue
        if event_type == "detention_authorised":
            assert record not in opened
            opened.add(record)
            continue
        assert record in opened and record not in ended, line
        if event_type in ENDS:
            ended.add(record)
    assert len(opened) == PUBLISHED.detentions
    assert ended == opened
    assert orphan_records and not orphan_records & opened


def test_no_names_and_pseudonymous_person_refs() -> None:
    refs = set()
    for _, _, line, kind in default_run()[:50_000]:
        if kind is Mistake.NONE and '"detention_authorised"' in line:
            detainee = json.loads(line)["payload"]["detainee"]
            assert set(detainee) == {
                "person_ref", "date_of_birth", "appears_under_18", "looked_after_child", "sex"
            }  # fmt: skip
            ref = detainee["person_ref"]
            assert len(ref) == 10 and ref.startswith("P-") and ref[2:].isdigit()
            refs.add(ref)
    assert len(refs) > 10_000  # distinct per episode


def test_ages_do_not_depend_on_the_time_zone_that_reads_t0() -> None:
    """Dates of birth keep clear of birthdays, so UTC and London agree on every age at T0."""
    london = ZoneInfo("Europe/London")
    t0: dict[str, datetime] = {}
    checked = 0
    for _, _, line, kind in default_run():
        if kind is not Mistake.NONE or '"date_of_birth"' not in line:
            continue
        event = decode(line)
        assert not isinstance(event, Reject)
        if isinstance(event, ev.DetentionAuthorised):
            t0[event.custody_record_id] = event.occurred_at
            born = event.payload.detainee.date_of_birth
        else:
            assert isinstance(event, ev.AgeEstablished)
            born = event.payload.date_of_birth
        if born is None:
            continue
        at = t0[event.custody_record_id]
        assert age_on(born, at.date()) == age_on(born, at.astimezone(london).date())
        assert 10 <= age_on(born, at.date()) <= 80
        checked += 1
    assert checked > 45_000


def test_the_default_run_matches_the_published_figures() -> None:
    figures = measure(line for _, _, line, _ in default_run())
    rows = compare(figures)
    table = format_table(rows)
    assert all(row.ok for row in rows), table
    assert figures.detentions == 54_929 and figures.children == 4_472
    assert (figures.remanded, figures.exempt, figures.needing_la) == (316, 117, 199)
    assert (figures.transferred, figures.not_requested, figures.no_accommodation) == (21, 3, 175)
    assert len(figures.monthly) == 10 and figures.local_authorities == 7


def test_a_scaled_run_matches_the_scaled_figures() -> None:
    config = SimConfig(seed=5, detentions=10_000)
    rows = compare(measure(iter_lines(config)), config.scale)
    assert all(row.ok for row in rows), format_table(rows)


def test_the_shapes_the_brief_asks_for_are_there() -> None:
    types: Counter[str] = Counter()
    first_review = Counter[str]()
    corrections: Counter[str] = Counter()
    t0: dict[str, datetime] = {}
    hours: Counter[int] = Counter()
    night_charges = 0
    for _, _, line, kind in default_run():
        if kind is not Mistake.NONE:
            continue
        event = decode(line)
        assert not isinstance(event, Reject)
        types[event.event_type] += 1
        rid = event.custody_record_id
        if isinstance(event, ev.DetentionAuthorised):
            t0[rid] = event.occurred_at
            hours[event.occurred_at.hour] += 1
        elif isinstance(event, ev.AgeEstablished):
            age_days = (t0[rid].date() - event.payload.date_of_birth).days
            corrections["to child" if age_days < 18 * 365 else "to adult"] += 1
        elif isinstance(event, ev.DetentionReviewed) and event.event_id.endswith("/v1"):
            late = event.occurred_at - t0[rid] > timedelta(hours=6)
            first_review["late" if late else "on time"] += 1
        elif isinstance(event, ev.Charged):
            night_charges += event.occurred_at.hour >= 22 or event.occurred_at.hour < 4
    for needed in (
        "appropriate_adult_requested", "appropriate_adult_arrived", "detention_reviewed",
        "detention_extended", "charged", "bail_refused", "la_accommodation_requested",
        "la_accommodation_response", "transfer_impracticable_certified", "transferred_to_la",
        "transferred_to_suite", "age_established", "released",
    ):  # fmt: skip
        assert types[needed] > 0, needed
    assert corrections["to child"] > 0 and corrections["to adult"] > 0
    assert 0 < first_review["late"] < first_review["on time"] / 5  # usually on time, not always
    evening = sum(hours[h] for h in range(16, 24))
    morning = sum(hours[h] for h in range(2, 10))
    assert evening > 2 * morning  # arrests cluster in the evening
    assert night_charges > 0


def test_mistakes_come_at_about_the_configured_rate() -> None:
    run = default_run()
    valid = sum(kind is Mistake.NONE for *_, kind in run)
    bad = len(run) - valid
    expected = valid * 0.002
    assert abs(bad - expected) < 4 * math.sqrt(expected), (bad, expected)

    config = SimConfig(seed=3, detentions=10_000, mistake_rate=0.02)
    kinds = Counter(kind for *_, kind in iter_tagged(config))
    valid = kinds.pop(Mistake.NONE)
    expected = valid * 0.02
    assert abs(sum(kinds.values()) - expected) < 4 * math.sqrt(expected), (kinds, expected)
    assert min(kinds.values()) > expected / 4 * 0.7  # the four kinds, about equally

    assert not [k for *_, k in iter_tagged(SimConfig(seed=3, detentions=2_000, mistake_rate=0))
                if k is not Mistake.NONE]  # fmt: skip


def test_records_for_a_paced_producer() -> None:
    records = list(iter_records(SMALL))
    lines = list(iter_lines(SMALL))
    assert [value + b"\n" for _, _, value in records] == [line.encode() for line in lines]
    times = [at for at, _, _ in records]
    assert times == sorted(times) and all(at % 1_000_000 == 0 for at in times)
    for at, key, value in records[:2_000]:
        event = decode(value)
        if not isinstance(event, Reject):
            assert key == event.custody_record_id.encode()
            assert at == int(event.occurred_at.timestamp()) * 1_000_000


def test_the_rules_engine_accepts_everything_but_the_mistakes() -> None:
    config = SimConfig(seed=8, detentions=4_000, months=1)
    tagged = list(iter_tagged(config))
    result = replay_lines((line.encode() for *_, line, _ in tagged), RuleConfig())
    reasons = Counter(rejected.reject.reason for rejected in result.rejects)
    kinds = Counter(kind for *_, kind in tagged)
    assert reasons[RejectReason.ORPHAN_EVENT] == kinds[Mistake.ORPHAN]
    assert sum(reasons.values()) == sum(n for k, n in kinds.items() if k is not Mistake.NONE)
    assert result.alerts  # children held six hours and more, late appropriate adults...


def test_vocabulary_is_json_escaped() -> None:
    odd = ('suite "A"\\1', "b\u00e9", "c")
    force = Force(
        suites=odd,
        childrens_suites=(odd[0],),
        local_authorities=("la",),
        suite_weights=dict.fromkeys(odd, 1.0),
        catchment={s: {'la "x"': 1.0} for s in odd},
    )
    config = SimConfig(seed=1, detentions=500, months=1, force=force, mistake_rate=0)
    suites = {json.loads(line)["suite_id"] for line in iter_lines(config)}
    assert suites == set(odd)


def _run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="custodywatch")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def test_cli_simulate_and_calibrate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sim.jsonl"
    argv = ["simulate", "--seed", "4", "--detentions", "5000", "--start", "2025-04-01T00:00:00Z"]
    assert _run_cli([*argv, "--out", str(out)]) == 0
    assert out.read_text() == "".join(
        iter_lines(SimConfig(seed=4, detentions=5_000, start=datetime(2025, 4, 1, tzinfo=UTC)))
    )
    assert "events" in capsys.readouterr().err

    assert _run_cli(["calibrate", str(out), "--detentions", "5000"]) == 0
    table = capsys.readouterr().out
    assert "mean detention, children" in table and "FAIL" not in table

    # A file's targets scale to the detentions it holds, as the help says...
    assert _run_cli(["calibrate", str(out)]) == 0
    assert "scaled to 5,000 detentions" in capsys.readouterr().err
    # ...and against the full-size targets a 5,000-detention file is out of tolerance.
    assert _run_cli(["calibrate", str(out), "--detentions", "54929"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_calibrate_says_why_a_file_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run_cli(["calibrate", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl: No such file or directory" in capsys.readouterr().err

    assert _run_cli(["calibrate", str(tmp_path / "missing.jsonl")]) == 2
    with pytest.raises(SystemExit):
        _run_cli(["simulate", "--start", "2025-04-01T00:00:00"])  # no offset


def test_cli_calibrate_generates_when_given_no_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_cli(["calibrate", "--seed", "9", "--detentions", "3000", "--months", "3"]) == 0
    assert "OK" in capsys.readouterr().out
