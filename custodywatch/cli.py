"""Command line: `custodywatch replay | worker | demo | alerts tail | ...`: the
commands and `main` (their argparse parsers are in `custodywatch.cli_parser`).

Usage errors and unreadable inputs exit 2 with a one-line reason; a processed
file exits 0 whatever it contained. `main` is the one place where known failures
(bad settings, an unreachable broker, a port in use, Ctrl-C) become one line on
stderr and an exit code (see `custodywatch.errors`); a person never sees a
traceback for them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from custodywatch.cli_parser import build_parser
from custodywatch.config import Settings
from custodywatch.contract.alerts import AlertRecord
from custodywatch.core.config import RuleConfig, RuleConfigError, rules_from_yaml
from custodywatch.errors import SettingsError, explain, run_async, settings_message
from custodywatch.logs import FORMATS, LEVELS, last_connect_error, setup_logging

USAGE_ERROR = 2


class UsageError(Exception):
    """Bad arguments or unreadable input: reported on stderr, exit 2."""


def load_rules(path: Path | None) -> RuleConfig:
    if path is None:
        return RuleConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read rules file {path}: {exc.strerror}") from None
    try:
        rules = rules_from_yaml(text)
    except RuleConfigError as exc:
        raise UsageError(f"{path}: {exc}") from None
    import yaml

    if yaml.safe_load(text) is None:  # the defaults, but surely not what was meant
        raise UsageError(f"{path}: the rules file is empty (leave out --rules for the defaults)")
    return rules


def settings_from_env(args: argparse.Namespace, **overrides: object) -> Settings:
    """The environment's settings, or one line naming the bad variable. The TLS
    context is built once here, so a bad CA file is refused before anything starts."""
    try:
        settings = Settings.from_env(None, **overrides)
    except ValidationError as exc:
        raise SettingsError(settings_message(exc)) from None
    args.bootstrap = settings.kafka.bootstrap_servers  # named in a connection error
    settings.kafka.client_kwargs()
    return settings


def _open_out(path: Path | None) -> IO[str]:
    if path is None:
        return sys.stdout
    try:
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def cmd_replay(args: argparse.Namespace) -> int:
    rules = load_rules(args.rules)
    try:
        with args.events.open("rb") as handle:
            lines = handle.readlines()
    except OSError as exc:
        raise UsageError(f"cannot read {args.events}: {exc.strerror or exc}") from None

    from tqdm import tqdm

    from custodywatch.replay import (
        alert_dicts,
        episode_dicts,
        replay_lines,
        replay_summaries,
        write_jsonl,
    )

    # Every output is opened first: an unwritable path fails before any work.
    out = _open_out(args.out)
    opened: list[IO[str]] = []
    try:
        for path in (args.rejects, args.episodes):
            if path is not None:
                opened.append(_open_out(path))
    except UsageError:
        for handle in (out, *opened):
            if handle is not sys.stdout:
                handle.close()
        if out is not sys.stdout:
            out.close()
        raise
    rejects_out = opened.pop(0) if args.rejects is not None else None
    episodes_out = opened.pop(0) if args.episodes is not None else None
    try:
        with tqdm(total=len(lines), unit="ev", desc="replay", file=sys.stderr, disable=None) as bar:
            if episodes_out is None:  # ended episodes need not be kept for their summaries
                result = replay_lines(lines, rules, until=args.until, progress=bar)
            else:
                result, summaries = replay_summaries(lines, rules, until=args.until, progress=bar)
                write_jsonl(episode_dicts(summaries), episodes_out)
        write_jsonl(alert_dicts(result.history if args.history else result.alerts), out)
        if rejects_out is not None:
            write_jsonl((r.to_json() for r in result.rejects), rejects_out)
    finally:
        for handle in (out, rejects_out, episodes_out):
            if handle is not None and handle is not sys.stdout:
                handle.close()

    reasons = ", ".join(f"{k}={v}" for k, v in sorted(result.reject_counts().items()))
    print(
        f"replay: {result.events} events, {len(result.rejects)} rejected"
        f"{f' ({reasons})' if reasons else ''}, {result.duplicates} duplicates ignored, "
        f"{result.after_until} after --until not applied, {len(result.alerts)} alerts stand "
        f"({_states(result.history)})",
        file=sys.stderr,
    )
    if result.rejects and args.rejects is None:
        hint = (
            "no line was a valid event: is this a JSONL file of custody events? "
            if len(result.rejects) == result.events
            else ""
        )
        print(f"replay: {hint}--rejects PATH writes each rejected line and why", file=sys.stderr)
    return 0


def _states(history: list[AlertRecord]) -> str:
    counts = Counter(record.state for record in history)
    return ", ".join(f"{counts[state]} {state}" for state in ("raised", "resolved", "retracted"))


def cmd_schemas_export(args: argparse.Namespace) -> int:
    from custodywatch.schemas import default_dir, drift, export

    directory: Path = args.dir or default_dir()
    if args.check:
        if not directory.is_dir():
            raise UsageError(
                f"no schemas directory at {directory}: run from the repository root, or pass --dir"
            )
        drifted = drift(directory)
        missing = [name for name in drifted if not (directory / name).is_file()]
        stale = [name for name in drifted if name not in missing]
        if missing:
            print(f"schemas missing from {directory}: {', '.join(missing)}", file=sys.stderr)
        if stale:
            print(f"schemas out of date in {directory}: {', '.join(stale)}", file=sys.stderr)
        if missing or stale:
            print("run `custodywatch schemas export` to regenerate them", file=sys.stderr)
            return 1
        print(f"schemas up to date in {directory}", file=sys.stderr)
        return 0
    for path in export(directory):
        print(path, file=sys.stderr)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from custodywatch.bootstrap import run_worker

    settings = settings_from_env(
        args, clock_mode=args.clock_mode, rules_path=args.rules, group_id=args.group_id
    )
    rules = load_rules(settings.rules_path)  # a bad file exits 2 before anything starts
    if args.processes == 1:
        run_async(run_worker(settings, rules))
        return 0
    from custodywatch.stream.members import run_members

    def member(index: int) -> int:
        port = settings.metrics_port  # member i serves /metrics on the port + i (0: any)
        own = settings.model_copy(update={"metrics_port": port + index if port else port})

        def run() -> int:
            run_async(run_worker(own, rules, member=f"{index + 1} of {args.processes}"))
            return 0

        return guarded(args, run)

    return run_members(args.processes, member)


def cmd_publish(args: argparse.Namespace) -> int:
    from custodywatch.stream.publisher import publish_lines, send_ticks

    try:
        lines = args.events.read_bytes().splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read {args.events}: {exc.strerror}") from None
    settings = settings_from_env(args)
    sent = run_async(publish_lines(settings, lines))
    print(f"publish: {sent} messages to {settings.topics.events}", file=sys.stderr)
    if args.tick is not None:
        run_async(send_ticks(settings, args.tick))
    return 0


def cmd_tick(args: argparse.Namespace) -> int:
    from custodywatch.stream.publisher import send_ticks

    run_async(send_ticks(settings_from_env(args), args.now))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import logging

    from custodywatch.demo import DemoOptions, demo_records, run_demo

    # A broker that has just started answers "not enough replicas" for a moment;
    # the clients retry. Keep the demo's screen for the alerts.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    options = DemoOptions(
        seed=args.seed, hours=args.hours, speed=args.speed, metrics_port=args.metrics_port
    )
    return run_async(run_demo(options, demo_records(options)))


def cmd_simulate(args: argparse.Namespace) -> int:
    """To a file or stdout (the simulator's own handler), or paced onto Kafka."""
    if not args.kafka:
        code: int = args.write_file(args)
        return code
    from custodywatch.sim.cli import config_from
    from custodywatch.sim.records import iter_records
    from custodywatch.stream.changelog import ensure_topics
    from custodywatch.stream.publisher import stream_paced

    settings = settings_from_env(args)
    records = iter_records(config_from(args))

    async def send() -> int:
        await ensure_topics(settings)
        return await stream_paced(settings, records, args.speed)

    sent = run_async(send())
    print(f"simulate: {sent:,} events sent to {settings.topics.events}", file=sys.stderr)
    return 0


def _configure_logging(args: argparse.Namespace) -> None:
    fmt = args.log_format or os.environ.get("CUSTODYWATCH_LOG_FORMAT", "text")
    level = args.log_level or os.environ.get(
        "CUSTODYWATCH_LOG_LEVEL", "info" if args.command == "worker" else "warning"
    )
    if fmt not in FORMATS or level.lower() not in LEVELS:
        raise SettingsError(
            f"CUSTODYWATCH_LOG_FORMAT must be one of {', '.join(FORMATS)} and "
            f"CUSTODYWATCH_LOG_LEVEL one of {', '.join(LEVELS)} (got {fmt!r}, {level!r})"
        )
    setup_logging(fmt, level.lower())


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words[0] if words[:1] == ["worker"] else None)
    args = parser.parse_args(argv)

    def run() -> int:
        _configure_logging(args)
        code: int = args.handler(args)
        return code

    return guarded(args, run)


def guarded(args: argparse.Namespace, run: Callable[[], int]) -> int:
    """`run()`'s exit code; a known failure becomes one line on stderr and its code."""
    try:
        code = run()
    except UsageError as exc:
        print(f"custodywatch: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:  # e.g. `alerts tail | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # a quiet exit flush
        return 0
    except (Exception, KeyboardInterrupt) as exc:
        failure = explain(exc, getattr(args, "bootstrap", None), last_connect_error())
        if failure is None:
            raise  # a bug: its traceback is what a developer needs
        print(f"custodywatch: {failure.message}", file=sys.stderr)
        return failure.code
    return code


if __name__ == "__main__":
    # `python -m custodywatch.cli` runs this file as `__main__`, a second copy: the
    # parsers' commands are `custodywatch.cli`'s, and so must `guarded` be, to catch
    # the `UsageError` they raise.
    from custodywatch.cli import main as cli_main

    sys.exit(cli_main())
