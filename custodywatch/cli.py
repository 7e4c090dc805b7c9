"""Command line: `custodywatch replay | schemas export | ...`.

Usage errors and unreadable inputs exit 2 with a one-line reason; a processed
file exits 0 whatever it contained.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from custodywatch.argtypes import positive_float, timestamp
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig, RuleConfigError, rules_from_yaml
from custodywatch.replay import alert_dicts, replay_lines, write_jsonl
from custodywatch.sim.cli import add_parsers as add_simulator_parsers
from custodywatch.store.cli import add_parsers as add_store_parsers

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
        return rules_from_yaml(text)
    except RuleConfigError as exc:
        raise UsageError(f"{path}: {exc}") from None


def _timestamp_us(text: str) -> int:
    return to_us(timestamp(text))


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

    with tqdm(total=len(lines), unit="ev", desc="replay", file=sys.stderr, disable=None) as bar:
        result = replay_lines(lines, rules, until=args.until, progress=bar)

    out = _open_out(args.out)
    try:
        write_jsonl(alert_dicts(result.alerts), out)
    finally:
        if out is not sys.stdout:
            out.close()
    if args.rejects is not None:
        with _open_out(args.rejects) as rejects_out:
            write_jsonl((r.to_json() for r in result.rejects), rejects_out)

    reasons = ", ".join(f"{k}={v}" for k, v in sorted(result.reject_counts().items()))
    print(
        f"replay: {result.events} events, {len(result.rejects)} rejected"
        f"{f' ({reasons})' if reasons else ''}, {result.duplicates} duplicates ignored, "
        f"{result.after_until} after --until not applied, {len(result.alerts)} alerts",
        file=sys.stderr,
    )
    return 0


def cmd_schemas_export(args: argparse.Namespace) -> int:
    from custodywatch.schemas import drift, export

    if args.check:
        stale = drift(args.dir)
        if stale:
            print(f"schemas out of date: {', '.join(stale)}", file=sys.stderr)
            return 1
        print("schemas up to date", file=sys.stderr)
        return 0
    for path in export(args.dir):
        print(path, file=sys.stderr)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from custodywatch.bootstrap import run_worker
    from custodywatch.config import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings.from_env(
        clock_mode=args.clock_mode, rules_path=args.rules, group_id=args.group_id
    )
    rules = load_rules(settings.rules_path)  # a bad file exits 2 before anything starts
    asyncio.run(run_worker(settings, rules))
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    import asyncio

    from custodywatch.config import Settings
    from custodywatch.stream.publisher import publish_lines, send_ticks

    try:
        lines = args.events.read_bytes().splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read {args.events}: {exc.strerror}") from None
    settings = Settings.from_env()
    sent = asyncio.run(publish_lines(settings, lines))
    print(f"publish: {sent} messages to {settings.topics.events}", file=sys.stderr)
    if args.tick is not None:
        asyncio.run(send_ticks(settings, args.tick))
    return 0


def cmd_tick(args: argparse.Namespace) -> int:
    import asyncio

    from custodywatch.config import Settings
    from custodywatch.stream.publisher import send_ticks

    asyncio.run(send_ticks(Settings.from_env(), args.now))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from custodywatch.demo import DemoOptions, demo_records, run_demo

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    # A broker that has just started answers "coordinator not available" and
    # "not enough replicas" for a moment; the clients retry. Keep the demo readable.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    options = DemoOptions(
        seed=args.seed, hours=args.hours, speed=args.speed, metrics_port=args.metrics_port
    )
    return asyncio.run(run_demo(options, demo_records(options)))


def cmd_simulate(args: argparse.Namespace) -> int:
    """To a file or stdout (the simulator's own handler), or paced onto Kafka."""
    if not args.kafka:
        code: int = args.write_file(args)
        return code
    import asyncio

    from custodywatch.config import Settings
    from custodywatch.sim.cli import config_from
    from custodywatch.sim.generator import iter_records
    from custodywatch.stream.publisher import stream_paced
    from custodywatch.stream.worker import ensure_topics

    settings = Settings.from_env()
    records = iter_records(config_from(args))

    async def send() -> int:
        await ensure_topics(settings)
        return await stream_paced(settings, records, args.speed)

    sent = asyncio.run(send())
    print(f"simulate: {sent:,} events sent to {settings.topics.events}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="custodywatch", description="Live welfare alerts for children in police custody."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    replay = commands.add_parser("replay", help="run the rules in event time over a JSONL file")
    replay.add_argument("events", type=Path, metavar="EVENTS.jsonl")
    replay.add_argument("--until", type=_timestamp_us, help="advance the clock to this time")
    replay.add_argument("--rules", type=Path, help="rules YAML (default: built-in defaults)")
    replay.add_argument("--out", type=Path, help="alerts JSONL (default: stdout)")
    replay.add_argument("--rejects", type=Path, help="rejects JSONL")
    replay.set_defaults(handler=cmd_replay)

    demo = commands.add_parser("demo", help="broker + worker + simulated day, alerts live")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument(
        "--hours", type=positive_float, default=24.0, help="simulated hours of arrivals"
    )
    demo.add_argument(
        "--speed", type=positive_float, default=1800.0, help="simulated seconds per second"
    )
    demo.add_argument("--metrics-port", type=int, default=9108)
    demo.set_defaults(handler=cmd_demo)

    worker = commands.add_parser("worker", help="run the streaming service on Kafka")
    worker.add_argument(
        "--clock-mode",
        choices=["wall", "event"],
        help="wall: fire on the wall clock (live); event: follow occurred_at and ticks",
    )
    worker.add_argument("--rules", type=Path, help="rules YAML (default: built-in defaults)")
    worker.add_argument("--group-id", help="consumer group (default: custodywatch)")
    worker.set_defaults(handler=cmd_worker)

    publish = commands.add_parser("publish", help="send a JSONL file to the events topic")
    publish.add_argument("events", type=Path, metavar="EVENTS.jsonl")
    publish.add_argument("--tick", type=_timestamp_us, help="then tick the event-time clock to TS")
    publish.set_defaults(handler=cmd_publish)

    tick = commands.add_parser("tick", help="advance the event-time clock of every partition")
    tick.add_argument("now", type=_timestamp_us, metavar="TS")
    tick.set_defaults(handler=cmd_tick)

    simulate, _ = add_simulator_parsers(commands)
    simulate.add_argument(
        "--kafka", action="store_true", help="send to the events topic (and clock ticks) instead"
    )
    simulate.add_argument(
        "--speed",
        type=positive_float,
        default=3600.0,
        help="with --kafka: simulated seconds per second",
    )
    simulate.set_defaults(handler=cmd_simulate, write_file=simulate.get_default("handler"))

    add_store_parsers(commands)

    schemas = commands.add_parser("schemas", help="JSON Schema files of the contract")
    schema_commands = schemas.add_subparsers(dest="schemas_command", required=True)
    export = schema_commands.add_parser("export", help="write schemas/*.json from the models")
    export.add_argument("--dir", type=Path, default=Path("schemas"))
    export.add_argument("--check", action="store_true", help="exit 1 if the files drifted")
    export.set_defaults(handler=cmd_schemas_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except UsageError as exc:
        print(f"custodywatch: {exc}", file=sys.stderr)
        return USAGE_ERROR
    return code


if __name__ == "__main__":
    sys.exit(main())
