"""`custodywatch alerts tail` and `custodywatch dlq tail`: read a topic as it grows.

`add_tail_parsers(alerts_commands, dlq_commands)` adds a `tail` subcommand to
each group; the command line owns the groups, so other `alerts` subcommands
(e.g. `list` / `show` from the store) sit beside it. Both read committed records
only (what the worker's transactions published), from the beginning by default,
and follow until Ctrl-C (`--no-follow`: stop at the end of what is there).

A dead letter is shown by its headers (reason, message, where it came from) and
key; its original bytes only with `--raw`, since a producer's mistake can carry
anything, names included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from custodywatch.config import Settings, Topics
from custodywatch.errors import SettingsError, run_async
from custodywatch.localkafka.connection import start_or_close

LOCAL = ZoneInfo("Europe/London")
Render = Callable[[Any], str]


def _local(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(LOCAL).strftime("%Y-%m-%d %H:%M %Z")


def alert_line(alert: dict[str, Any]) -> str:
    """One alert record for a person: when, state, severity, what, where, which record."""
    when = _local(alert.get("state_at") or alert["due_at"])
    return (
        f"{when}  {alert.get('state', 'raised'):<9} {alert['severity']:<8} "
        f"{alert['rule']}/{alert['stage']:<22} {alert['suite_id']:<14} "
        f"{alert['custody_record_id']}  {alert['summary']}"
    )


def dead_letter_fields(record: Any, raw: bool) -> dict[str, Any]:
    headers = {name: value.decode("utf-8", "replace") for name, value in record.headers or ()}
    fields: dict[str, Any] = {
        "reason": headers.get("reason"),
        "message": headers.get("message"),
        "source": f"{headers.get('source_topic')}[{headers.get('source_partition')}]"
        f"@{headers.get('source_offset')}",
        "key": None if record.key is None else record.key.decode("utf-8", "replace"),
    }
    if raw:
        fields["value"] = record.value.decode("utf-8", "replace")
    return fields


def dead_letter_line(fields: dict[str, Any]) -> str:
    line = f"{fields['reason']:<26} {fields['source']}  key={fields['key']}  {fields['message']}"
    return line + (f"\n    {fields['value']}" if "value" in fields else "")


async def tail(
    settings: Settings,
    topic: str,
    render: Render,
    out: TextIO,
    follow: bool = True,
    from_end: bool = False,
) -> int:
    """Print each committed record of `topic` (rendered); returns how many."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        **settings.kafka.client_kwargs(),
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="latest" if from_end else "earliest",
    )
    await start_or_close(consumer)
    shown = 0
    try:
        # Checked before subscribing, which could create the topic on a broker
        # that auto-creates topics.
        if topic not in await consumer.topics():
            raise SettingsError(
                f"topic {topic} does not exist on {settings.kafka.bootstrap_servers} "
                "(has a worker run against this cluster, with these CUSTODYWATCH_TOPIC_* settings?)"
            )
        consumer.subscribe([topic])  # no group: every partition, nothing committed
        # aiokafka has no event for a group-less assignment: it follows the metadata.
        while not consumer.assignment():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        partitions = sorted(consumer.assignment())
        ends = await consumer.end_offsets(partitions)

        async def more() -> bool:
            return follow or any([await consumer.position(tp) < ends[tp] for tp in partitions])

        while await more():
            batch = await consumer.getmany(timeout_ms=500)
            # Across partitions, in the order they were written.
            for record in sorted(
                (r for records in batch.values() for r in records), key=lambda r: r.timestamp
            ):
                print(render(record), file=out, flush=True)
                shown += 1
    finally:
        await consumer.stop()
    return shown


def _run(args: argparse.Namespace, topic_of: Callable[[Topics], str], render: Render) -> int:
    settings = Settings.from_env()
    args.bootstrap = settings.kafka.bootstrap_servers  # named in a connection error
    topic = args.topic or topic_of(settings.topics)
    try:
        run_async(tail(settings, topic, render, sys.stdout, not args.no_follow, args.from_end))
    except KeyboardInterrupt:  # the way to stop following: not an error
        return 0
    return 0


def cmd_alerts_tail(args: argparse.Namespace) -> int:
    def render(record: Any) -> str:
        return record.value.decode() if args.json else alert_line(json.loads(record.value))

    return _run(args, lambda topics: topics.alerts, render)


def cmd_dlq_tail(args: argparse.Namespace) -> int:
    def render(record: Any) -> str:
        fields = dead_letter_fields(record, args.raw)
        return json.dumps(fields, ensure_ascii=False) if args.json else dead_letter_line(fields)

    return _run(args, lambda topics: topics.dead_letter, render)


def _common(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--no-follow", action="store_true", help="stop at the end instead of waiting for more"
    )
    parser.add_argument("--from-end", action="store_true", help="only records written from now on")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--topic", help=f"topic to read (default: the {what} topic of the settings)"
    )


def add_tail_parsers(
    alerts_commands: argparse._SubParsersAction[argparse.ArgumentParser],
    dlq_commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add `tail` to the `alerts` and the `dlq` command groups."""
    alerts = alerts_commands.add_parser(
        "tail", help="print alerts from Kafka as the worker publishes them (Ctrl-C stops)"
    )
    _common(alerts, "alerts")
    alerts.set_defaults(handler=cmd_alerts_tail)
    dlq = dlq_commands.add_parser(
        "tail", help="print rejected messages with the reason and where they came from"
    )
    _common(dlq, "dead-letter")
    dlq.add_argument("--raw", action="store_true", help="also print each message's original bytes")
    dlq.set_defaults(handler=cmd_dlq_tail)
