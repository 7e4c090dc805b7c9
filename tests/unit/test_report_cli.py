"""`custodywatch report` from episode and alert JSONL files: outputs and exit codes."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from report_builders import alert
from test_report_tables import funnel_children

from custodywatch.cli import main


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    episodes = write_jsonl(tmp_path / "episodes.jsonl", [e.to_dict() for e in funnel_children()])
    alerts = write_jsonl(tmp_path / "alerts.jsonl", [alert("T1").to_dict(), alert("R1").to_dict()])
    return episodes, alerts


def run(files: tuple[Path, Path], out: Path, *extra: str) -> int:
    episodes, alerts = files
    argv = ["report", "--from", "2025-04-01", "--to", "2025-04-30", "--out", str(out)]
    return main([*argv, "--episodes", str(episodes), "--alerts", str(alerts), *extra])


def test_html_report_from_episode_and_alert_files(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    assert run(files, out, "--format", "html") == 0
    html = out.read_text(encoding="utf-8")
    assert "Children in police custody, 1 April 2025 to 30 April 2025" in html
    assert "detention_duration: breach" in html
    err = capsys.readouterr().err
    assert "8 episodes, 2 alert records" in err and "small numbers suppressed" in err


def test_csv_report_for_one_la_without_suppression(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "report.zip"
    assert run(files, out, "--format", "csv", "--la", "dudley", "--no-suppress") == 0
    archive = zipfile.ZipFile(io.BytesIO(out.read_bytes()))
    funnel = archive.read("funnel.csv").decode().splitlines()
    assert funnel[:2] == ["key,label,dudley,Total", "remanded,Charged and refused bail,1,1"]
    assert "NOT suppressed" in archive.read("README.txt").decode()


def test_a_bad_line_names_the_file_and_line_but_not_its_content(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    episodes = files[0]
    with episodes.open("a", encoding="utf-8") as handle:
        handle.write('{"person_ref": "P-SECRET"}\n')
    assert run(files, tmp_path / "r.html", "--format", "html") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"custodywatch: {episodes}:9: not an episode summary")
    assert "P-SECRET" not in err[-1]
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "2025-05-01", "--to", "2025-04-01"], "is before --from"),
        (["--from", "2025-04-01", "--to", "2025-04-30", "--episodes", "/nonexistent/e.jsonl"],
         "cannot read /nonexistent/e.jsonl"),
        (["--from", "2025-04-01", "--to", "2025-04-30", "--events", "/nonexistent/v.jsonl"],
         "cannot read /nonexistent/v.jsonl"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2_with_one_line(
    files: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    if "--episodes" not in argv and "--events" not in argv:
        argv = [*argv, "--episodes", str(files[0])]
    code = main(["report", *argv, "--format", "html", "--out", str(tmp_path / "r.html")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) <= 2 and message in err[-1] and "Traceback" not in "".join(err)


def test_an_unwritable_output_exits_2(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(files, Path("/nonexistent/dir/r.html"), "--format", "html") == 2
    assert "cannot write /nonexistent/dir/r.html" in capsys.readouterr().err


def test_an_episode_time_that_is_not_a_timestamp_exits_2(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = funnel_children()[0].to_dict()
    record["detention_authorised_at"] = "yesterday"
    write_jsonl(files[0], [record])
    assert run(files, tmp_path / "r.html", "--format", "html") == 2
    assert "bad episode data" in capsys.readouterr().err
