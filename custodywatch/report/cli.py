"""`custodywatch report`: a safeguarding report for a period, as HTML, CSV (zip) or PDF
(`custodywatch whatif` is in whatif_cli.py).

`add_parsers(subparsers)` adds both commands to the main command line; their
handlers return 0 when the output was written, 2 (one line on stderr) for a bad
argument or setting, an unreadable source or a renderer that failed.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from custodywatch.core.config import RuleConfig
from custodywatch.replay import decode_file, gc_paused, summaries_of
from custodywatch.report.cli_common import (
    USAGE_ERROR,
    date_arg,
    load_rules,
    positive_arg,
    settle,
    store_reader,
)
from custodywatch.report.engine import build_report
from custodywatch.report.model import Report, ReportQuery
from custodywatch.report.parallel import (
    MAX_JOBS,
    Part,
    ReplayFailedError,
    default_jobs,
    replay_in_processes,
)
from custodywatch.report.sources import (
    SourceError,
    alerts_from,
    episodes_from,
    read_lines,
)
from custodywatch.report.whatif_cli import add_whatif_parser

if TYPE_CHECKING:
    pass

FORMATS = ("html", "csv", "pdf")


def add_parsers(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    report = subparsers.add_parser(
        "report",
        help="safeguarding report for a period (HTML, CSV zip or PDF)",
        description=(
            "Tables and charts of the detentions whose T0 falls in the period: detention "
            "length, children detained, overnight holds, the PACE s.38(6) funnel, alerts "
            "and escalations, longest holds. Small numbers are suppressed unless --no-suppress."
        ),
    )
    report.add_argument("--from", dest="start", type=date_arg, required=True, metavar="DATE")
    report.add_argument(
        "--to", dest="end", type=date_arg, required=True, metavar="DATE", help="inclusive"
    )
    report.add_argument("--la", help="only children whose home local authority is LA")
    report.add_argument("--suite", help="only detentions authorised at suite S")
    report.add_argument(
        "--no-suppress",
        action="store_true",
        help="show counts of 1-4 (internal use only: the report says so)",
    )
    report.add_argument("--format", choices=FORMATS, required=True)
    report.add_argument("--out", type=Path, required=True, metavar="PATH")
    source = report.add_mutually_exclusive_group(required=True)
    source.add_argument("--episodes", type=Path, metavar="EPISODES.jsonl")
    source.add_argument("--events", type=Path, metavar="EVENTS.jsonl")
    source.add_argument(
        "--store",
        action="store_true",
        help="from the store (CUSTODYWATCH_DATABASE_URL), with acknowledgements and escalations",
    )
    report.add_argument(
        "--alerts", type=Path, metavar="ALERTS.jsonl", help="with --episodes: the alerts"
    )
    report.add_argument(
        "--jobs",
        type=positive_arg,
        metavar="N",
        help="with --events: replay in N processes (default: the CPUs this process may use, "
        f"at most {MAX_JOBS}; 1: in this process)",
    )
    report.add_argument("--rules", type=Path, help="rules YAML the episodes were made with")
    report.add_argument(
        "--childrens-suites",
        default="perry-barr,oldbury",
        help="comma-separated suites designed for children (default perry-barr,oldbury)",
    )
    report.add_argument("--longest", type=positive_arg, default=10, help="rows of longest holds")
    report.set_defaults(handler=cmd_report)
    add_whatif_parser(subparsers)
    return report


def _query(args: argparse.Namespace) -> ReportQuery:
    if args.end < args.start:
        raise SourceError(f"--to {args.end} is before --from {args.start}")
    if args.events is not None and args.alerts is not None:
        raise SourceError("--alerts goes with --episodes; --events gives its own alerts")
    if args.events is None and args.jobs is not None:
        raise SourceError("--jobs goes with --events")
    suites = tuple(s.strip() for s in args.childrens_suites.split(",") if s.strip())
    return ReportQuery(
        start=args.start,
        end=args.end,
        local_authority=args.la,
        suite=args.suite,
        childrens_suites=suites,
        suppress=not args.no_suppress,
        longest=args.longest,
    )


def _progress(path: Path, lines: list[bytes]) -> list[bytes]:
    print(f"report: read {len(lines):,} lines of {path}", file=sys.stderr)
    return lines


def _replayed(args: argparse.Namespace, lines: list[bytes], rules: RuleConfig) -> Part:
    """The events file replayed, in this process or in `--jobs` worker processes."""
    jobs = args.jobs if args.jobs is not None else default_jobs()
    _progress(args.events, lines)
    if jobs == 1:
        print("report: replaying the events", file=sys.stderr)
        decoded = decode_file(lines)
        result, summaries = summaries_of(decoded, rules)
        settle(decoded)  # done with, but freeing ten months of events takes 0.4 s
        part = Part.of(result, summaries)
    else:
        print(f"report: replaying the events in {jobs} processes", file=sys.stderr)
        try:
            part = replay_in_processes(lines, rules, jobs)
        except ReplayFailedError as exc:
            raise SourceError(str(exc)) from None
    rejected = ", ".join(f"{n:,} {reason}" for reason, n in sorted(part.rejects.items()))
    print(
        f"report: lines rejected: {rejected or 'none'}; {part.duplicates:,} duplicates",
        file=sys.stderr,
    )
    return part


def _inputs(
    args: argparse.Namespace, query: ReportQuery, rules: RuleConfig
) -> tuple[Any, Any, Any]:
    """(summaries, alerts, outcomes or None) from the source the arguments name."""
    if args.store:
        return _from_store(query)
    if args.events is not None:
        part = _replayed(args, read_lines(args.events), rules)
        return part.summaries, part.alerts, None
    summaries = episodes_from(args.episodes, _progress(args.episodes, read_lines(args.episodes)))
    alerts = []
    if args.alerts is not None:
        alerts = alerts_from(args.alerts, _progress(args.alerts, read_lines(args.alerts)))
    return summaries, alerts, None


def make_report(args: argparse.Namespace) -> Report:
    query = _query(args)
    rules = load_rules(args.rules)
    with gc_paused():  # the summaries are many acyclic objects: see replay.gc_paused
        summaries, alerts, outcomes = _inputs(args, query, rules)
        settle()  # before the collector is back, or its next pass scans them all at once
    print(f"report: {len(summaries):,} episodes, {len(alerts):,} alert records", file=sys.stderr)
    now = datetime.now(UTC).astimezone(ZoneInfo(rules.time_zones.default))
    try:
        with gc_paused():
            return build_report(summaries, alerts, query, rules, now, outcomes)
    except ValueError as exc:  # a summary's time that is not RFC 3339
        raise SourceError(f"bad episode data: {exc}") from None


def _from_store(query: ReportQuery) -> tuple[Any, Any, Any]:
    from custodywatch.report.store_source import from_store
    from custodywatch.store.db import StoreUnavailableError

    try:
        engine = store_reader(None)
        print("report: reading the store", file=sys.stderr)
        return from_store(engine, query.start, query.end)
    except StoreUnavailableError as exc:
        raise SourceError(str(exc)) from None


def render(report: Report, fmt: str) -> bytes:
    from custodywatch.report.render_html import render_html

    if fmt == "csv":
        from custodywatch.report.render_csv import render_csv_zip

        return render_csv_zip(report)
    html = render_html(report)
    if fmt == "html":
        return html.encode("utf-8")
    from custodywatch.report.render_pdf import render_pdf

    print("report: printing the PDF with Chromium", file=sys.stderr)
    return render_pdf(html)


def cmd_report(args: argparse.Namespace) -> int:
    from custodywatch.report.render_pdf import PdfError

    try:
        report = make_report(args)
        data = render(report, args.format)
    except (SourceError, PdfError) as exc:
        print(f"custodywatch: {exc}", file=sys.stderr)
        return USAGE_ERROR
    try:
        args.out.write_bytes(data)
    except OSError as exc:
        print(f"custodywatch: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return USAGE_ERROR
    edition = "suppressed" if report.query.suppress else "not suppressed"
    print(
        f"report: {len(report.tables())} tables, small numbers {edition}, "
        f"{len(data):,} bytes to {args.out}",
        file=sys.stderr,
    )
    return 0
