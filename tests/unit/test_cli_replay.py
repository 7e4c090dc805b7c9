"""`custodywatch replay`: options, outputs, rejects file and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from custodywatch.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample-events.jsonl"


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_replay_writes_ordered_alerts_and_rejects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, rejects = tmp_path / "alerts.jsonl", tmp_path / "rejects.jsonl"
    code = main(["replay", str(SAMPLE), "--out", str(out), "--rejects", str(rejects)])
    assert code == 0
    alerts = _lines(out)
    keys = [(a["due_at"], a["alert_id"]) for a in alerts]
    assert keys == sorted(keys) and len(keys) == len(set(keys))
    required = {
        "alert_id", "rule", "stage", "severity", "custody_record_id", "suite_id",
        "person_ref", "home_local_authority", "due_at", "raised_at", "summary",
    }  # fmt: skip
    assert all(required <= a.keys() for a in alerts)
    assert "CR1/detention_duration/breach" in {a["alert_id"] for a in alerts}
    assert not any(a["custody_record_id"] == "CR2" for a in alerts)  # an adult
    rows = _lines(rejects)
    assert [(r["line"], r["reason"]) for r in rows] == [
        (4, "invalid_json"),
        (11, "orphan_event"),
        (13, "timestamp_without_offset"),
    ]
    assert rows[0]["raw"] == '{"not json'
    err = capsys.readouterr().err
    assert "3 rejected" in err and "1 duplicates ignored" in err


def test_until_moves_the_clock_and_fires_what_is_due_at_it(tmp_path: Path) -> None:
    out = tmp_path / "a.jsonl"
    # CR1's 6h breach is due at 00:00; --until exactly then fires it, a second before does not.
    main(["replay", str(SAMPLE), "--out", str(out), "--until", "2026-03-01T23:59:59+00:00"])
    assert "CR1/detention_duration/breach" not in {a["alert_id"] for a in _lines(out)}
    main(["replay", str(SAMPLE), "--out", str(out), "--until", "2026-03-02T00:00:00+00:00"])
    assert "CR1/detention_duration/breach" in {a["alert_id"] for a in _lines(out)}


def test_rules_option_changes_thresholds(tmp_path: Path) -> None:
    rules, out = tmp_path / "rules.yaml", tmp_path / "a.jsonl"
    rules.write_text("detention_duration:\n  approaching: 3h\n  breach: 4h\n  prolonged: 8h\n")
    main(["replay", str(SAMPLE), "--out", str(out), "--rules", str(rules)])
    breach = next(a for a in _lines(out) if a["alert_id"] == "CR1/detention_duration/breach")
    assert breach["due_at"] == "2026-03-01T22:00:00Z"
    assert "four-hour guideline (local policy)" in str(breach["summary"])


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["replay", "no-such-file.jsonl"], "cannot read"),
        (["replay", str(SAMPLE), "--until", "2026-03-01T10:00:00"], "offset"),
        (["replay", str(SAMPLE), "--until", "soon"], "RFC 3339"),
        (["replay", str(SAMPLE), "--rules", "missing-rules.yaml"], "cannot read rules"),
        (["replay"], "required"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        sys.exit(main(argv))
    assert exited.value.code == 2
    assert says in capsys.readouterr().err


def test_invalid_rules_file_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("review:\n  frist: 6h\n")
    assert main(["replay", str(SAMPLE), "--rules", str(rules)]) == 2
    assert "review.frist: unknown key" in capsys.readouterr().err


def test_console_script_prints_alerts_to_stdout() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "custodywatch.cli", "replay", str(SAMPLE)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert len(done.stdout.splitlines()) == 9
    assert "replay: 13 events" in done.stderr


def test_episodes_option_writes_each_final_summary_by_record(tmp_path: Path) -> None:
    episodes = tmp_path / "episodes.jsonl"
    assert (
        main(
            ["replay", str(SAMPLE), "--out", str(tmp_path / "a.jsonl"), "--episodes", str(episodes)]
        )
        == 0
    )
    rows = _lines(episodes)
    schema = json.loads((ROOT / "schemas" / "episode.v1.schema.json").read_text())
    for row in rows:
        jsonschema.validate(row, schema)
    ids = [str(r["custody_record_id"]) for r in rows]
    assert ids == sorted(ids) == ["CR1", "CR2"]  # each opened episode once; the orphan is not one
    cr1, cr2 = rows
    assert (cr1["juvenile"], cr1["end"], cr1["transferred_to_la"]) == (
        True,
        "transferred_to_la",
        "birmingham",
    )
    assert cr2["juvenile"] is False and cr2["next_deadline"] is None


def test_unwritable_episodes_path_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing-dir" / "episodes.jsonl"
    assert main(["replay", str(SAMPLE), "--episodes", str(target)]) == 2
    assert "cannot write" in capsys.readouterr().err
