"""`custodywatch report`: a safeguarding report for a period, as HTML, CSV (zip) or PDF;
`custodywatch whatif`: the history's alerts under other thresholds against the current rules.

`add_parsers(subparsers)` adds both commands to the main command line; their
handlers return 0 when the output was written, 2 (one line on stderr) for a bad
argument or setting, an unreadable source or a renderer that failed.
"""

from __future__ import annotations

import argparse
import gc
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import yaml

from custodywatch.core.config import RuleConfig, RuleConfigError, rules_from_yaml
from custodywatch.replay import decode_file, gc_paused, summaries_of
from custodywatch.report.engine import build_report
from custodywatch.report.model import Report, ReportQuery
from custodywatch.report.parallel import (
    MAX_JOBS,
    Part,
    ReplayFailedError,
    default_jobs,
    replay_in_processes,
)
from custodywatch.report.render_whatif import render_csv_zip as render_whatif_csv
from custodywatch.report.render_whatif import render_html as render_whatif_html
from custodywatch.report.render_whatif import render_text
from custodywatch.report.sources import (
    SourceError,
    alerts_from,
    episodes_from,
    read_lines,
    runs_from_events,
    runs_from_summaries,
)
from custodywatch.report.whatif import Run, WhatIf, WhatIfQuery, compare
from custodywatch.report.whatif_settings import (
    SettingError,
    apply_settings,
    current_value,
    governed,
    parse_setting,
)
from custodywatch.report.whatif_views import headline

if TYPE_CHECKING:
    from sqlalchemy import Engine

USAGE_ERROR = 2
FORMATS = ("html", "csv", "pdf")
WHATIF_FORMATS = ("table", "csv", "html")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


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
    report.add_argument("--from", dest="start", type=_date, required=True, metavar="DATE")
    report.add_argument(
        "--to", dest="end", type=_date, required=True, metavar="DATE", help="inclusive"
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
        type=_positive,
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
    report.add_argument("--longest", type=_positive, default=10, help="rows of longest holds")
    report.set_defaults(handler=cmd_report)
    _add_whatif(subparsers)
    return report


def _add_whatif(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    whatif = subparsers.add_parser(
        "whatif",
        help="the history's alerts under other thresholds, against the current rules",
        description=(
            "Replays the events under the current rules and under the same rules with each "
            "--set applied, and shows per home local authority and month the children "
            "alerted and the alerts that stand (by rule and stage): current, what-if, "
            "difference. The first line answers the question. Small numbers are "
            "suppressed unless --no-suppress."
        ),
    )
    source = whatif.add_mutually_exclusive_group(required=True)
    source.add_argument("events", nargs="?", type=Path, metavar="EVENTS.jsonl")
    source.add_argument(
        "--store",
        action="store_true",
        help="the history from the store: each episode replayed from its summary",
    )
    whatif.add_argument(
        "--database-url",
        metavar="URL",
        help="with --store: the store (default: CUSTODYWATCH_DATABASE_URL)",
    )
    whatif.add_argument(
        "--set",
        dest="settings",
        action="append",
        required=True,
        metavar="KEY=VALUE",
        help="a threshold to change, as a dotted path into the rules, e.g. "
        "detention_duration.breach=4h (repeat for several; lists as [a, b])",
    )
    whatif.add_argument("--from", dest="start", type=_date, metavar="DATE")
    whatif.add_argument("--to", dest="end", type=_date, metavar="DATE", help="inclusive")
    whatif.add_argument("--la", help="only children whose home local authority is LA")
    whatif.add_argument("--format", choices=WHATIF_FORMATS, default="table")
    whatif.add_argument("--out", type=Path, metavar="PATH", help="default: stdout (table, html)")
    whatif.add_argument(
        "--no-suppress",
        action="store_true",
        help="show counts of 1-4 (internal use only: the output says so)",
    )
    whatif.add_argument("--rules", type=Path, help="the current rules YAML (default: built-in)")
    whatif.set_defaults(handler=cmd_whatif)


def _rules_text(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"cannot read rules file {path}: {exc.strerror}") from None


def _rules(path: Path | None) -> RuleConfig:
    try:
        return rules_from_yaml(_rules_text(path))
    except RuleConfigError as exc:
        raise SourceError(f"{path}: {exc}") from None


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


def settle(*done_with: object) -> None:
    """A command's inputs, once read, live until it exits: out of the cyclic collector's
    sight from here (`gc.freeze`), it never rescans them (ten months: some 10^6 acyclic
    objects, which reference counting frees as ever).

    `done_with`: objects the command no longer needs and need not free. Held by a
    reference cycle that is frozen, they are never freed, by reference counting or by
    the collector at exit, and the operating system takes their memory back when the
    process ends (every output is still written, flushed and closed as usual).
    For the commands only: a long-running process would keep all of it for good."""
    holder: list[object] = [*done_with]
    holder.append(holder)
    gc.freeze()


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
    rules = _rules(args.rules)
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
        engine = _store_reader(None)
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


def _whatif_query(args: argparse.Namespace, current: RuleConfig) -> tuple[WhatIfQuery, RuleConfig]:
    """The query and the what-if rules; a bad --set raises SettingError naming the key."""
    if args.start is not None and args.end is not None and args.end < args.start:
        raise SourceError(f"--to {args.end} is before --from {args.start}")
    if args.format == "csv" and args.out is None:
        raise SourceError("--format csv writes a zip: give --out PATH")
    settings = tuple(parse_setting(text) for text in args.settings)
    base = yaml.safe_load(_rules_text(args.rules)) or {}  # valid: `current` was made from it
    rules = apply_settings(base, settings)
    query = WhatIfQuery(
        settings=settings,
        current_values=tuple(current_value(current, s) for s in settings),
        governed=governed(settings),
        start=args.start,
        end=args.end,
        local_authority=args.la,
        suppress=not args.no_suppress,
    )
    return query, rules


def _whatif_progress(message: str) -> None:
    print(f"whatif: {message}", file=sys.stderr)


def _store_reader(url: str | None) -> Engine:
    """The schema brought up to date, then a read-only engine: a report beside a busy
    `serve` never holds its writes up (on SQLite it takes no write lock)."""
    from custodywatch.config import Settings
    from custodywatch.store.db import migrate, open_engine

    url = url if url is not None else Settings.from_env().database_url
    migrate(open_engine(url))
    return open_engine(url, read_only=True)


def _runs(args: argparse.Namespace, current: RuleConfig, whatif: RuleConfig) -> list[Run]:
    """The two runs to compare: from the events file, or from the store's summaries."""
    progress = _whatif_progress
    if args.store:
        from custodywatch.report.store_source import history_from_store
        from custodywatch.store.db import StoreUnavailableError

        try:
            engine = _store_reader(args.database_url)
            progress("reading the store")
            history = history_from_store(engine, args.start, args.end)
        except StoreUnavailableError as exc:
            raise SourceError(str(exc)) from None
        if any(text.strip().startswith("time_zones") for text in args.settings):
            progress("note: the store keeps each child's age at T0, not the date of birth")
        return runs_from_summaries(history.summaries, history.clock, (current, whatif), progress)
    if args.database_url is not None:
        raise SourceError("--database-url goes with --store")
    lines = read_lines(args.events)
    print(f"whatif: read {len(lines):,} lines of {args.events}", file=sys.stderr)
    return runs_from_events(lines, (current, whatif), progress)


def render_whatif(w: WhatIf, fmt: str) -> bytes:
    if fmt == "csv":
        return render_whatif_csv(w)
    return (render_whatif_html(w) if fmt == "html" else render_text(w)).encode("utf-8")


def cmd_whatif(args: argparse.Namespace) -> int:
    try:
        current = _rules(args.rules)
        query, rules = _whatif_query(args, current)
        with gc_paused():
            current_run, whatif_run = _runs(args, current, rules)
            settle()  # as in make_report
            result = compare(current_run, whatif_run, query, current)
    except (SourceError, SettingError) as exc:
        print(f"custodywatch: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except ValueError as exc:  # a summary's time that is not RFC 3339
        print(f"custodywatch: bad episode data: {exc}", file=sys.stderr)
        return USAGE_ERROR
    data = render_whatif(result, args.format)
    if args.out is None:
        sys.stdout.write(data.decode("utf-8"))
        return 0
    try:
        args.out.write_bytes(data)
    except OSError as exc:
        print(f"custodywatch: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return USAGE_ERROR
    print(headline(result)[0], file=sys.stderr)
    print(f"whatif: {len(data):,} bytes to {args.out}", file=sys.stderr)
    return 0
