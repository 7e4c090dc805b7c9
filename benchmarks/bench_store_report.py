"""Time to make the ten-month report, and a what-if, from the store (SQLite and PostgreSQL).

    python benchmarks/bench_store_report.py [--repeat 3] [--seed 0]
        [--scenario detention_duration.breach=4h --scenario ...]

The events are the simulator's default ten months, replayed and folded into an empty
SQLite file and an empty database on a throwaway PostgreSQL server (durable: fsync on)
as `serve` folds the alerts and episodes topics (not timed; the fill time is printed).
Each repeat times, per engine, in this process:

- baseline: `SELECT summary FROM episodes` and `SELECT * FROM alerts`, rows fetched and
  nothing else (what any reader of the store pays);
- report: `store_source.from_store`, the report engine, HTML and the CSV zip (what
  `custodywatch report --store` does, without writing the file);
- what-if, per scenario: `history_from_store`, every child's episode rebuilt and
  replayed under the current rules and the scenario, compare, table and HTML (what
  `custodywatch whatif --store` does).

Figures are medians with the range (min-max) over the repeats, wall and CPU time of
this process (PostgreSQL's own CPU is not counted). Targets (issue 10): report under
10 s for a large force's year; what-if under 10 s per scenario. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from bench_report import MADE, SCENARIOS, TEN_MONTHS, Timing, line, timed, whatif_result
from sqlalchemy import Engine, text

from custodywatch import core_build
from custodywatch.contract.alerts import ALERT_ADAPTER, AlertRecord
from custodywatch.contract.episodes import EPISODE_ADAPTER, EpisodeSummary
from custodywatch.core.config import RuleConfig
from custodywatch.replay import gc_paused, replay_summaries
from custodywatch.report.engine import build_report
from custodywatch.report.render_csv import render_csv_zip
from custodywatch.report.render_html import render_html
from custodywatch.report.sources import runs_from_summaries
from custodywatch.report.store_source import from_store, history_from_store
from custodywatch.report.whatif import Run
from custodywatch.sim.config import SimConfig
from custodywatch.sim.generator import iter_lines
from custodywatch.store.apply import NoHooks, fold_batch
from custodywatch.store.db import migrate, open_engine, sessions, transaction
from custodywatch.store.pgserver import LocalPostgres

BATCH = 2000


def fill(
    engine: Engine, history: Sequence[AlertRecord], summaries: Sequence[EpisodeSummary]
) -> None:
    """Fold the records as `serve` does, in batches of 2,000 (one transaction each)."""
    migrate(engine)
    for start in range(0, max(len(history), len(summaries)), BATCH):
        with transaction(sessions(engine)) as session:
            fold_batch(
                session,
                [(r.alert_id, ALERT_ADAPTER.dump_json(r)) for r in history[start : start + BATCH]],
                [
                    (s.custody_record_id, EPISODE_ADAPTER.dump_json(s))
                    for s in summaries[start : start + BATCH]
                ],
                NoHooks(),
            )


def fetch_only(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT summary FROM episodes")).fetchall()
        connection.execute(text("SELECT * FROM alerts")).fetchall()


def report(engine: Engine) -> None:
    rules = RuleConfig()
    summaries, alerts, outcomes = from_store(engine, TEN_MONTHS.start, TEN_MONTHS.end)
    with gc_paused():
        made = build_report(summaries, alerts, TEN_MONTHS, rules, MADE, outcomes)
    render_html(made)
    render_csv_zip(made)


def whatif(engine: Engine, scenario: str, answers: dict[str, str]) -> None:
    def runs(rule_sets: tuple[RuleConfig, RuleConfig]) -> list[Run]:
        history = history_from_store(engine, TEN_MONTHS.start, TEN_MONTHS.end)
        return runs_from_summaries(history.summaries, history.clock, rule_sets, _quiet)

    answers[scenario] = whatif_result(scenario, runs)


def _quiet(_: str) -> None:
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenario", action="append", help=f"default: {', '.join(SCENARIOS)}")
    args = parser.parse_args()
    scenarios = args.scenario or list(SCENARIOS)
    lines = [t.encode("utf-8") for t in iter_lines(SimConfig(seed=args.seed))]
    result, summaries = replay_summaries(lines, RuleConfig())
    print(f"core {core_build()}; {len(lines):,} event lines (seed {args.seed}), ten months")
    print(f"{len(summaries):,} episodes, {len(result.history):,} alert records to fold")
    with tempfile.TemporaryDirectory() as tmp, LocalPostgres() as pg:
        engines = {
            "SQLite": open_engine(f"sqlite:///{Path(tmp) / 'store.db'}"),
            "PostgreSQL": open_engine(pg.create_database("bench")),
        }
        for name, engine in engines.items():
            wall, cpu = timed(functools.partial(fill, engine, result.history, summaries))
            print(f"filled {name} in {wall:.1f} s (cpu {cpu:.1f} s)", file=sys.stderr)
        del lines, result, summaries  # the store alone holds the history now
        results: dict[str, list[Timing]] = {}
        answers: dict[str, str] = {}
        for n in range(args.repeat):
            for name, engine in engines.items():
                work: dict[str, Callable[[], object]] = {
                    f"{name}: fetch rows only (baseline)": functools.partial(fetch_only, engine),
                    f"{name}: report (read, engine, HTML, CSV)": functools.partial(report, engine),
                }
                for scenario in scenarios:
                    work[f"{name}: what-if {scenario}"] = functools.partial(
                        whatif, engine, scenario, answers
                    )
                for label, job in work.items():
                    results.setdefault(label, []).append(timed(job))
            print(f"repeat {n + 1} of {args.repeat} done", file=sys.stderr, flush=True)
        for name in engines:
            baseline = results[f"{name}: fetch rows only (baseline)"]
            for label, timings in results.items():
                if label.startswith(f"{name}:"):
                    base = None if timings is baseline else baseline
                    print(line(label, timings, base, "fetch"))
        for engine in engines.values():
            engine.dispose()
    for scenario, answer in answers.items():
        print(f"{scenario}: {answer}")


if __name__ == "__main__":
    main()
