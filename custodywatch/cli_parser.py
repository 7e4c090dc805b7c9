"""The command line's argparse parsers: `build_parser` and one `_add_*` per group.

The handlers are the command functions of `custodywatch.cli` (which imports this
module) and each package's own `add_parsers`; both are imported inside the
functions, so `build_parser("worker")` imports only what the worker needs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from custodywatch.argtypes import port, positive_count, positive_float, timestamp
from custodywatch.core.clock import to_us
from custodywatch.logs import FORMATS, LEVELS


def _timestamp_us(text: str) -> int:
    return to_us(timestamp(text))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every command's parser; with `command="worker"` only the worker's, so the worker
    starts without importing the other commands' modules (about 0.3 s of its start-up)."""
    parser = argparse.ArgumentParser(
        prog="custodywatch", description="Live welfare alerts for children in police custody."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    if command == "worker":
        _add_worker_parser(commands)
    else:
        _add_parsers(commands)
    parser.add_argument("--log-format", choices=FORMATS, default=None, help=_LOG_FORMAT_HELP)
    parser.add_argument("--log-level", choices=LEVELS, default=None, help=_LOG_LEVEL_HELP)
    _add_logging_options(commands)
    return parser


def _add_worker_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from custodywatch.cli import cmd_worker  # here: custodywatch.cli imports this module

    worker = commands.add_parser("worker", help="run the streaming service on Kafka")
    worker.add_argument(
        "--clock-mode",
        choices=["wall", "event"],
        help="wall: fire on the wall clock (live); event: follow occurred_at and ticks",
    )
    worker.add_argument("--rules", type=Path, help="rules YAML (default: built-in defaults)")
    worker.add_argument("--group-id", help="consumer group (default: custodywatch)")
    worker.add_argument(
        "--processes",
        type=positive_count,
        default=1,
        help="worker processes, members of one consumer group (default 1; at most one per "
        "partition does work)",
    )
    worker.set_defaults(handler=cmd_worker)


def _add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from custodywatch.alerting.cli import add_parsers as add_alerting_parsers
    from custodywatch.cli import (
        cmd_demo,
        cmd_publish,
        cmd_replay,
        cmd_schemas_export,
        cmd_simulate,
        cmd_tick,
    )
    from custodywatch.report.cli import add_parsers as add_report_parsers
    from custodywatch.sim.cli import add_parsers as add_simulator_parsers
    from custodywatch.store.cli import add_parsers as add_store_parsers
    from custodywatch.stream.tail import add_tail_parsers

    replay = commands.add_parser("replay", help="run the rules in event time over a JSONL file")
    replay.add_argument("events", type=Path, metavar="EVENTS.jsonl")
    replay.add_argument("--until", type=_timestamp_us, help="advance the clock to this time")
    replay.add_argument("--rules", type=Path, help="rules YAML (default: built-in defaults)")
    replay.add_argument("--out", type=Path, help="alerts JSONL (default: stdout)")
    replay.add_argument("--rejects", type=Path, help="rejects JSONL")
    replay.add_argument(
        "--history",
        action="store_true",
        help="print every alert record (raised, resolved, retracted) in the order emitted, "
        "instead of the alerts that stand",
    )
    replay.add_argument(
        "--episodes", type=Path, help="final episode summaries JSONL, by custody_record_id"
    )
    replay.set_defaults(handler=cmd_replay)

    demo = commands.add_parser("demo", help="broker + worker + simulated day, alerts live")
    demo.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    demo.add_argument(
        "--hours",
        type=positive_float,
        default=24.0,
        help="simulated hours of arrivals from Friday 08:00; detentions run on (default 24)",
    )
    demo.add_argument(
        "--speed",
        type=positive_float,
        default=1800.0,
        help="simulated seconds per real second (default 1800: an hour in 2 s)",
    )
    demo.add_argument(
        "--metrics-port",
        type=port,
        default=9108,
        help="/metrics port (default 9108; 0 or a busy port: any free one)",
    )
    demo.set_defaults(handler=cmd_demo)

    _add_worker_parser(commands)

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

    add_report_parsers(commands)
    schemas = commands.add_parser("schemas", help="JSON Schema files of the contract")
    schema_commands = schemas.add_subparsers(dest="schemas_command", required=True)
    export = schema_commands.add_parser("export", help="write schemas/*.json from the models")
    export.add_argument(
        "--dir", type=Path, help="schemas directory (default: the repository's schemas/)"
    )
    export.add_argument("--check", action="store_true", help="exit 1 if the files drifted")
    export.set_defaults(handler=cmd_schemas_export)

    alerts = commands.add_parser("alerts", help="read welfare alerts")
    alerts_commands = alerts.add_subparsers(dest="alerts_command", required=True)
    dlq = commands.add_parser("dlq", help="read the dead-letter topic (rejected messages)")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True)
    add_tail_parsers(alerts_commands, dlq_commands)
    add_store_parsers(alerts_commands)
    add_alerting_parsers(commands)


_LOG_FORMAT_HELP = "text or json lines on stderr (default: $CUSTODYWATCH_LOG_FORMAT or text)"
_LOG_LEVEL_HELP = "default: $CUSTODYWATCH_LOG_LEVEL, else info for worker, warning otherwise"


def _add_logging_options(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """--log-format / --log-level after any (sub)command too, e.g. `worker --log-format json`."""
    for sub in set(commands.choices.values()):
        nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            for group in nested:
                _add_logging_options(group)
            continue
        sub.add_argument(
            "--log-format", choices=FORMATS, default=argparse.SUPPRESS, help=_LOG_FORMAT_HELP
        )
        sub.add_argument(
            "--log-level", choices=LEVELS, default=argparse.SUPPRESS, help=_LOG_LEVEL_HELP
        )
