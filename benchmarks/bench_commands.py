"""Time `custodywatch report` and `custodywatch whatif` as a person runs them: each command
a new process over the ten-month events file, wall and user+sys time (the child's
rusage, what `getrusage(RUSAGE_CHILDREN)` adds) and peak memory.

    python benchmarks/bench_commands.py [--repeat 3] [--events FILE] [--other DIR] [--pdf]
        [--scenario detention_duration.breach=4h --scenario ...]

Without --events the simulator's default ten months (seed 0, 232,655 lines) are written
to a temporary file first (not timed). `--other DIR`: a checkout of another revision
(e.g. `git archive main | tar -x -C DIR`, its core compiled or not, as you want it
measured), whose commands are timed in the same run, interleaved with these, and whose
outputs are compared with these byte for byte. Baselines from the same run: a process
that only `json.loads` every line of the file (the floor of any reader of it) and one
that only imports the command line. The report runs with `--jobs 1` (one process) and
`--jobs 2` (two worker processes), whose outputs are compared byte for byte too.

The report's time of making is fixed (`report/cli.py`'s `datetime.now`) so that outputs
can be compared; nothing else differs from the installed `custodywatch` script. Figures
are medians with the range over the repeats. Target (issue 10): under 10 s. Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ENTRY = """
import sys, datetime as d
import custodywatch.report.cli as report_cli
class Fixed(d.datetime):
    @classmethod
    def now(cls, tz=None):
        return d.datetime(2026, 2, 1, 9, 0, tzinfo=d.UTC).astimezone(tz)
report_cli.datetime = Fixed
from custodywatch.cli import main
sys.exit(main())
"""
FLOOR = """
import json, sys
for line in open(sys.argv[1], "rb"):
    try:
        json.loads(line)
    except ValueError:
        pass
"""
SCENARIOS = ("detention_duration.breach=4h", "overnight.window_end=08:00")
PERIOD = ("--from", "2025-04-01", "--to", "2026-01-31")

Sample = tuple[float, float, int]
"""(wall s, user+sys s, peak RSS MB)"""


def timed(argv: Sequence[str], env: dict[str, str], log: Path) -> Sample:
    """One process: its wall time from here, its own CPU time and peak memory. It runs in
    `log`'s folder, so that no checkout in the working directory shadows PYTHONPATH."""
    with log.open("wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            argv, env=env, cwd=log.parent, stdout=subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"{' '.join(argv[2:])} exited {child.returncode}: see {log}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def commands(
    events: Path, out: Path, scenarios: Sequence[str], pdf: bool
) -> list[tuple[str, list[str], Path | None]]:
    """(name, arguments after the interpreter, output file) of every process timed."""
    py = ["-c", ENTRY]
    report = [*py, "report", "--events", str(events), *PERIOD]
    made: list[tuple[str, list[str], Path | None]] = [
        ("json.loads of every line (floor)", ["-c", FLOOR, str(events)], None),
        ("import the command line only", ["-c", "import custodywatch.cli"], None),
    ]
    for fmt in ("html", "csv", *(("pdf",) if pdf else ())):
        for jobs in (1, 2):
            target = out / f"report-{jobs}.{fmt}"
            argv = [*report, "--format", fmt, "--out", str(target), "--jobs", str(jobs)]
            made.append((f"report --format {fmt} --jobs {jobs}", argv, target))
    for n, scenario in enumerate(scenarios):
        target = out / f"whatif-{n}.txt"
        argv = [*py, "whatif", str(events), "--set", scenario, "--out", str(target)]
        made.append((f"whatif --set {scenario}", argv, target))
    target = out / "whatif.html"
    argv = [*py, "whatif", str(events), "--set", scenarios[0], "--format", "html"]
    made.append(
        (f"whatif --set {scenarios[0]} --format html", [*argv, "--out", str(target)], target)
    )
    return made


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} s ({min(values):.2f}-{max(values):.2f})"


def events_file(path: Path | None, folder: Path) -> Path:
    if path is not None:
        return path
    from custodywatch.sim.config import SimConfig
    from custodywatch.sim.generator import iter_lines

    made = folder / "ten-months.jsonl"
    with made.open("w", encoding="utf-8") as handle:
        handle.writelines(iter_lines(SimConfig(seed=0)))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--events", type=Path, help="default: the simulator's ten months")
    parser.add_argument("--other", type=Path, metavar="DIR", help="another revision's checkout")
    parser.add_argument("--pdf", action="store_true", help="the report as PDF too (Chromium)")
    parser.add_argument("--scenario", action="append", help=f"default: {', '.join(SCENARIOS)}")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        events = events_file(args.events, folder)
        lines = sum(1 for _ in events.open("rb"))
        print(f"{lines:,} lines in {events.name}; {os.cpu_count()} CPUs, load {os.getloadavg()}")
        revisions = {"this": dict(os.environ)}
        if args.other is not None:
            other = dict(os.environ, PYTHONPATH=str(args.other.resolve()))
            revisions["other"] = other
        samples: dict[tuple[str, str], list[Sample]] = {}
        outputs: dict[tuple[str, str], bytes] = {}
        for n in range(args.repeat):
            for rev, env in revisions.items():
                out = folder / rev
                out.mkdir(exist_ok=True)
                for name, argv, target in commands(
                    events, out, args.scenario or SCENARIOS, args.pdf
                ):
                    sample = timed([sys.executable, *argv], env, folder / "stderr.txt")
                    samples.setdefault((name, rev), []).append(sample)
                    if target is not None and n == 0:
                        outputs[name, rev] = target.read_bytes()
            print(f"repeat {n + 1} of {args.repeat} done, load {os.getloadavg()}", flush=True)
    for (name, rev), taken in samples.items():
        walls, cpus = [s[0] for s in taken], [s[1] for s in taken]
        peak = max(s[2] for s in taken)
        print(f"{name:<52} {rev:<5} wall {fmt(walls)}   user+sys {fmt(cpus)}   {peak:4d} MB")
    for (name, rev), data in outputs.items():
        if "--jobs 2" in name:
            same = data == outputs[name.replace("--jobs 2", "--jobs 1"), rev]
            print(f"{name} ({rev}): output {'identical' if same else 'DIFFERS'} to --jobs 1")
    if "other" in revisions:
        for (name, rev), data in outputs.items():
            if rev == "this":
                same = data == outputs[name, "other"]
                print(f"{name}: output {'identical' if same else 'DIFFERS'} ({len(data):,} bytes)")


if __name__ == "__main__":
    main()
