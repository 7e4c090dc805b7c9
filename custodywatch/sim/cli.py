"""`custodywatch simulate` and `custodywatch calibrate`.

`add_parsers(subparsers)` adds both to the main command line; each sets
`handler=` to a function taking the parsed `Namespace` and returning the exit
code: 0 done (calibrate: every figure within tolerance), 1 calibrate found a
figure out of tolerance, 2 usage error or unreadable / unwritable file.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from custodywatch.argtypes import count, fraction, positive_float, timestamp
from custodywatch.sim.calibration import compare, format_table, measure
from custodywatch.sim.config import DEFAULT_MISTAKE_RATE, DEFAULT_START, SimConfig
from custodywatch.sim.generator import iter_lines
from custodywatch.sim.output import write_jsonl
from custodywatch.sim.targets import PUBLISHED, REFERENCE_MONTHS

USAGE_ERROR = 2
OUT_OF_TOLERANCE = 1


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--start",
        type=timestamp,
        default=DEFAULT_START,
        help=f"first possible detention, RFC 3339 with offset (default {DEFAULT_START.isoformat()})",
    )
    parser.add_argument(
        "--months",
        type=positive_float,
        default=float(REFERENCE_MONTHS),
        help=f"span of detentions in months (default {REFERENCE_MONTHS})",
    )
    parser.add_argument(
        "--detentions",
        type=count,
        help=(
            f"number of detentions; every published count scales with it "
            f"(default: the published rate, {PUBLISHED.detentions:,} per {REFERENCE_MONTHS} months)"
        ),
    )
    parser.add_argument(
        "--mistake-rate",
        type=fraction,
        default=DEFAULT_MISTAKE_RATE,
        help=f"deliberately bad extra lines per valid event (default {DEFAULT_MISTAKE_RATE})",
    )


def config_from(args: argparse.Namespace) -> SimConfig:
    return SimConfig(
        seed=args.seed,
        start=args.start,
        months=args.months,
        detentions=args.detentions,
        mistake_rate=args.mistake_rate,
    )


def add_parsers(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Add `simulate` and `calibrate` to a command line's subcommands; returns both parsers.

    (The streaming layer can add its own options, e.g. pacing, to `simulate`.)
    """
    simulate = subparsers.add_parser(
        "simulate",
        help="generate deterministic custody events (JSONL) calibrated to published figures",
        description=(
            "Generate custody events for a force with eight suites and seven local "
            "authorities, in occurred_at order, one JSON object per line. The same "
            "options give byte-identical output."
        ),
    )
    _add_run_options(simulate)
    simulate.add_argument("--out", type=Path, help="JSONL file (default: stdout)")
    simulate.set_defaults(handler=cmd_simulate)

    calibrate = subparsers.add_parser(
        "calibrate",
        help="compare events (a JSONL file, or a generated run) with the published figures",
        description=(
            "Compute the published figures from EVENTS.jsonl (or from the run the "
            "options describe) and compare them with the targets scaled to the "
            "run's detentions (a file's: the detentions it holds). Exit 1 if any "
            "figure is out of tolerance."
        ),
    )
    calibrate.add_argument("events", nargs="?", type=Path, metavar="EVENTS.jsonl")
    _add_run_options(calibrate)
    calibrate.set_defaults(handler=cmd_calibrate)
    return simulate, calibrate


def cmd_simulate(args: argparse.Namespace) -> int:
    config = config_from(args)
    out: TextIO
    if args.out is None:
        out = sys.stdout
    else:
        try:
            out = args.out.open("w", encoding="utf-8", newline="\n")
        except OSError as exc:
            print(f"custodywatch: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
            return USAGE_ERROR
    began = time.perf_counter()
    try:
        stats = write_jsonl(config, out)
    except BrokenPipeError:  # e.g. `| head`: the reader has all it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the exit-time flush stays quiet
        return 0
    finally:
        if out is not sys.stdout:
            out.close()
    seconds = time.perf_counter() - began
    print(
        f"simulate: {stats.lines:,} events ({stats.mistakes:,} deliberately bad), "
        f"{config.n_detentions:,} detentions, {stats.bytes / 1e6:,.1f} MB in {seconds:.1f} s",
        file=sys.stderr,
    )
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    config = config_from(args)
    if args.events is not None:
        try:
            with args.events.open("rb") as handle:
                figures = measure(handle, config.force.childrens_suites)
        except OSError as exc:
            print(f"custodywatch: cannot read {args.events}: {exc.strerror}", file=sys.stderr)
            return USAGE_ERROR
        # A file's targets scale to the detentions it holds (--detentions overrides).
        detentions = figures.detentions if args.detentions is None else args.detentions
    else:
        figures = measure(iter_lines(config), config.force.childrens_suites)
        detentions = config.n_detentions
    rows = compare(figures, detentions / config.targets.detentions, config.targets)
    print(format_table(rows))
    failed = [row.name.strip() for row in rows if not row.ok]
    print(
        f"calibrate: {figures.events:,} events, {figures.rejects:,} rejected, "
        f"{figures.orphans:,} orphans; {len(rows) - len(failed)}/{len(rows)} figures within "
        f"tolerance (targets scaled to {detentions:,} detentions)",
        file=sys.stderr,
    )
    if failed:
        print(f"calibrate: out of tolerance: {', '.join(failed)}", file=sys.stderr)
        return OUT_OF_TOLERANCE
    return 0
