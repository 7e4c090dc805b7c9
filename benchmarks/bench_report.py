"""Time to make the ten-month safeguarding report, and a what-if, from an events file
(`bench_store_report.py`: the same from the store).

    python benchmarks/bench_report.py [--repeat 3] [--seed 0] [--no-pdf]
        [--scenario detention_duration.breach=4h --scenario ...]

The events are the simulator's default ten months (54,929 detentions, ~233,000
lines), generated in memory first (not timed). Each repeat times, on the same
lines and in the same process:

- `json.loads` of every line: the floor any reader of the file pays;
- replay only: `replay_lines` (decode, sort, the engine): the baseline;
- report: replay into episode summaries, the report engine, HTML and the CSV zip
  (what `custodywatch report --events` does, without writing the file);
- what-if, per scenario: validate the lines of the episodes that may be a child's
  (`replay_children`), replay them under the current rules and under the scenario,
  compare, the table and the HTML (what `custodywatch whatif` does).

`bench_commands.py` times the commands themselves, as processes.

PDF (headless Chromium over the report's HTML) is timed separately, once per
repeat, unless --no-pdf. Figures are medians with the range (min-max) over the
repeats, wall and CPU time of this process (Chromium's own CPU is not counted).
Targets (issue 10): report under 10 s for a large force's year; what-if under
10 s per scenario. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

from custodywatch import core_build
from custodywatch.core.config import RuleConfig
from custodywatch.replay import gc_paused, replay_lines
from custodywatch.report.engine import build_report
from custodywatch.report.model import ReportQuery
from custodywatch.report.render_csv import render_csv_zip
from custodywatch.report.render_html import render_html
from custodywatch.report.render_whatif import render_html as render_whatif_html
from custodywatch.report.render_whatif import render_text
from custodywatch.report.sources import runs_from_events, summaries_from_events
from custodywatch.report.whatif import Run, WhatIfQuery, compare
from custodywatch.report.whatif_settings import (
    apply_settings,
    current_value,
    governed,
    parse_setting,
)
from custodywatch.report.whatif_views import headline
from custodywatch.sim.config import SimConfig
from custodywatch.sim.generator import iter_lines

TEN_MONTHS = ReportQuery(start=date(2025, 4, 1), end=date(2026, 1, 31))
MADE = datetime(2026, 2, 1, tzinfo=UTC)
SCENARIOS = ("detention_duration.breach=4h", "overnight.window_end=08:00")

Timing = tuple[float, float]
"""(wall seconds, CPU seconds)"""


def timed(work: Callable[[], object]) -> Timing:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def parse_only(lines: list[bytes]) -> None:
    for raw in lines:
        try:
            json.loads(raw)
        except ValueError:  # the simulator's deliberately bad lines
            continue


def report(lines: list[bytes]) -> None:
    rules = RuleConfig()
    summaries, alerts = summaries_from_events(lines, rules)
    with gc_paused():
        made = build_report(summaries, alerts, TEN_MONTHS, rules, MADE)
    render_html(made)
    render_csv_zip(made)


def pdf(lines: list[bytes]) -> Callable[[], object]:
    from custodywatch.report.render_pdf import render_pdf

    rules = RuleConfig()
    summaries, alerts = summaries_from_events(lines, rules)
    html = render_html(build_report(summaries, alerts, TEN_MONTHS, rules, MADE))
    return lambda: render_pdf(html)


def whatif_result(
    scenario: str, runs: Callable[[tuple[RuleConfig, RuleConfig]], Sequence[Run]]
) -> str:
    """What `custodywatch whatif` does with the runs `runs` makes; its headline."""
    current = RuleConfig()
    settings = (parse_setting(scenario),)
    current_run, whatif_run = runs((current, apply_settings({}, settings)))
    values = tuple(current_value(current, s) for s in settings)
    query = WhatIfQuery(settings, values, governed(settings), TEN_MONTHS.start, TEN_MONTHS.end)
    with gc_paused():
        result = compare(current_run, whatif_run, query, current)
    render_text(result)
    render_whatif_html(result)
    return headline(result)[0]


def whatif(lines: list[bytes], scenario: str, answers: dict[str, str]) -> None:
    answers[scenario] = whatif_result(
        scenario, lambda rule_sets: runs_from_events(lines, rule_sets, lambda _: None)
    )


def line(
    name: str, timings: list[Timing], baseline: list[Timing] | None = None, base: str = "replay"
) -> str:
    def fmt(values: list[float]) -> str:
        return f"{statistics.median(values):6.2f} s ({min(values):.2f}-{max(values):.2f})"

    walls, cpus = [t[0] for t in timings], [t[1] for t in timings]
    text = f"{name:<44} wall {fmt(walls)}   cpu {fmt(cpus)}"
    if baseline is not None:
        ratio = statistics.median(cpus) / statistics.median([t[1] for t in baseline])
        text += f"   {ratio:.2f}x {base} cpu"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-pdf", action="store_true")
    parser.add_argument("--scenario", action="append", help=f"default: {', '.join(SCENARIOS)}")
    args = parser.parse_args()
    scenarios = args.scenario or list(SCENARIOS)
    lines = [text.encode("utf-8") for text in iter_lines(SimConfig(seed=args.seed))]
    print(f"core {core_build()}; {len(lines):,} event lines (seed {args.seed}), ten months")
    results: dict[str, list[Timing]] = {}
    answers: dict[str, str] = {}
    print_pdf = None if args.no_pdf else pdf(lines)
    for n in range(args.repeat):
        results.setdefault("json.loads of every line (floor)", []).append(
            timed(functools.partial(parse_only, lines))
        )
        results.setdefault("replay only (baseline)", []).append(
            timed(lambda: replay_lines(lines, RuleConfig()))
        )
        results.setdefault("report: replay + summaries + HTML + CSV", []).append(
            timed(lambda: report(lines))
        )
        if print_pdf is not None:
            results.setdefault("PDF of the report's HTML (Chromium)", []).append(timed(print_pdf))
        for scenario in scenarios:
            results.setdefault(f"what-if {scenario}", []).append(
                timed(functools.partial(whatif, lines, scenario, answers))
            )
        print(f"repeat {n + 1} of {args.repeat} done", flush=True)
    baseline = results["replay only (baseline)"]
    for name, timings in results.items():
        in_process = timings is not baseline and not name.startswith("PDF")
        print(line(name, timings, baseline if in_process else None))
    for scenario, answer in answers.items():
        print(f"{scenario}: {answer}")


if __name__ == "__main__":
    main()
