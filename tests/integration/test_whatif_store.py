"""`custodywatch whatif --store` gives the same output as `whatif EVENTS.jsonl` for the
same events, on SQLite and PostgreSQL: the store is filled by folding what replay
publishes for a simulated month (every alert record and every episode's summary)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from storekit import fold_records, migrated

from custodywatch.cli import main
from custodywatch.core.config import RuleConfig
from custodywatch.replay import replay_summaries
from custodywatch.sim.config import SimConfig
from custodywatch.sim.generator import iter_lines

CONFIG = SimConfig(seed=11, months=2, detentions=2400)
APRIL = ["--from", "2025-04-01", "--to", "2025-04-30"]


@pytest.fixture(scope="module")
def events_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("whatif") / "events.jsonl"
    path.write_text("".join(f"{line}\n" for line in iter_lines(CONFIG)))
    return path


def filled(url: str, events: Path) -> str:
    result, summaries = replay_summaries(events.read_bytes().splitlines(), RuleConfig())
    fold_records(migrated(url), result.history, summaries)
    return url


def whatif(tmp_path: Path, name: str, source: list[str], argv: list[str]) -> dict[str, bytes]:
    """The table and every CSV of one run, by name."""
    table, archive = tmp_path / f"{name}.txt", tmp_path / f"{name}.zip"
    assert main(["whatif", *source, *argv, "--out", str(table)]) == 0
    assert main(["whatif", *source, *argv, "--format", "csv", "--out", str(archive)]) == 0
    with zipfile.ZipFile(io.BytesIO(archive.read_bytes())) as z:
        found = {n: z.read(n) for n in z.namelist()}
    return {"table": table.read_bytes(), **found}


@pytest.mark.parametrize(
    "argv",
    [
        ["--set", "detention_duration.breach=4h", *APRIL],
        ["--set", "juvenile_age=19", "--set", "review.first=3h", "--no-suppress"],
        ["--set", "detention_limit.initial_hours=12", "--la", "birmingham", "--no-suppress"],
        ["--set", "overnight.window_end=08:00", "--set", "time_zones.default=Europe/Paris"],
    ],
    ids=["breach-april", "juvenile-and-review", "limit-one-la", "night-and-zone"],
)
def test_the_store_gives_the_events_files_tables(
    database_url: str, events_file: Path, tmp_path: Path, argv: list[str]
) -> None:
    url = filled(database_url, events_file)
    from_file = whatif(tmp_path, "file", [str(events_file)], argv)
    from_store = whatif(tmp_path, "store", ["--store", "--database-url", url], argv)
    assert set(from_store) == set(from_file)
    for name, data in from_file.items():
        assert from_store[name] == data, name
    detail = from_file["whatif_detail.csv"].decode()
    assert detail.count("\n") > 40  # a real comparison, not two empty tables


def test_an_empty_store_gives_an_empty_comparison(database_url: str, tmp_path: Path) -> None:
    migrated(database_url)
    out = tmp_path / "empty.txt"
    argv = ["--store", "--database-url", database_url, "--set", "detention_duration.breach=4h"]
    assert main(["whatif", *argv, *APRIL, "--out", str(out)]) == 0
    assert "0 with detention_duration.breach=4h, against 0" in out.read_text()


def test_an_unreachable_store_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/none"
    argv = ["whatif", "--store", "--database-url", url, "--set", "detention_duration.breach=4h"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("custodywatch: ") and "secret" not in err[-1], err
    assert "Traceback" not in "\n".join(err)
