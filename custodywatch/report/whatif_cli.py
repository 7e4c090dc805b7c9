"""`custodywatch whatif`: the history's alerts under other thresholds against the current
rules, from an events file or the store; a table, CSV zip or HTML.

The handler returns 0 when the output was written, 2 (one line on stderr) for a bad
argument, setting or source.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from custodywatch.core.config import RuleConfig
from custodywatch.replay import gc_paused
from custodywatch.report.cli_common import (
    USAGE_ERROR,
    date_arg,
    load_rules,
    rules_text,
    settle,
    store_reader,
)
from custodywatch.report.render_whatif import render_csv_zip as render_whatif_csv
from custodywatch.report.render_whatif import render_html as render_whatif_html
from custodywatch.report.render_whatif import render_text
from custodywatch.report.sources import (
    SourceError,
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

WHATIF_FORMATS = ("table", "csv", "html")


def add_whatif_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    whatif.add_argument("--from", dest="start", type=date_arg, metavar="DATE")
    whatif.add_argument("--to", dest="end", type=date_arg, metavar="DATE", help="inclusive")
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


def _whatif_query(args: argparse.Namespace, current: RuleConfig) -> tuple[WhatIfQuery, RuleConfig]:
    """The query and the what-if rules; a bad --set raises SettingError naming the key."""
    if args.start is not None and args.end is not None and args.end < args.start:
        raise SourceError(f"--to {args.end} is before --from {args.start}")
    if args.format == "csv" and args.out is None:
        raise SourceError("--format csv writes a zip: give --out PATH")
    settings = tuple(parse_setting(text) for text in args.settings)
    base = yaml.safe_load(rules_text(args.rules)) or {}  # valid: `current` was made from it
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


def _runs(args: argparse.Namespace, current: RuleConfig, whatif: RuleConfig) -> list[Run]:
    """The two runs to compare: from the events file, or from the store's summaries."""
    progress = _whatif_progress
    if args.store:
        from custodywatch.report.store_source import history_from_store
        from custodywatch.store.db import StoreUnavailableError

        try:
            engine = store_reader(args.database_url)
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
        current = load_rules(args.rules)
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
