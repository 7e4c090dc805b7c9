"""The implementations behind `custodywatch alerts list | show` (see `store/cli.py`),
and the fold on its own (`run_serve`).

Each handler takes the parsed `Namespace` and returns the exit code: 0 done,
1 no such alert, 2 the database (or Kafka, for `serve`) cannot be used, said
in one line on stderr without a traceback. Every command first brings the
schema up to date (a no-op when it is).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from aiokafka.errors import KafkaError
from sqlalchemy import Engine

from custodywatch.config import Settings
from custodywatch.store.apply import FoldHooks
from custodywatch.store.cli import DEFAULT_BATCH
from custodywatch.store.db import (
    StoreUnavailableError,
    describe,
    guarded,
    migrate,
    open_engine,
    sessions,
    transaction,
)
from custodywatch.store.fold import Fold, FoldError
from custodywatch.store.queries import (
    AlertHistory,
    AlertView,
    get_alert,
    list_alerts,
)

UNAVAILABLE = 2
NOT_FOUND = 1

log = logging.getLogger("custodywatch.store")


def _guard(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except StoreUnavailableError as exc:
            print(f"custodywatch: {exc}", file=sys.stderr)
            return UNAVAILABLE

    return run


def ready_engine(settings: Settings) -> Engine:
    """An engine on the configured database with the schema up to date."""
    engine = open_engine(settings.database_url)
    migrate(engine)
    return engine


def run_serve(
    settings: Settings, *, batch: int = DEFAULT_BATCH, hooks: FoldHooks | None = None
) -> int:
    """Migrate, then fold until SIGTERM / SIGINT; the exit code. The fold alone, with
    `hooks` in each batch's transaction; `custodywatch serve` (alerting/service.py)
    runs it with the lifecycle, the timers and delivery.

    A database or Kafka that cannot be used (at start or later) is one line on
    stderr and exit 2; restarted, serve resumes from the offsets in the store.
    """
    try:
        engine = ready_engine(settings)
    except StoreUnavailableError as exc:
        print(f"custodywatch: {exc}", file=sys.stderr)
        return UNAVAILABLE
    log.info("store %s migrated", describe(settings.database_url))
    fold = Fold(settings, engine, hooks=hooks, batch=batch)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await fold.run(stop)

    try:
        asyncio.run(serve())
    except KafkaError as exc:
        print(
            f"custodywatch: Kafka at {settings.kafka.bootstrap_servers} unusable: "
            f"{type(exc).__name__}",
            file=sys.stderr,
        )
        return UNAVAILABLE
    except (FoldError, StoreUnavailableError) as exc:
        print(f"custodywatch: {exc}", file=sys.stderr)
        return UNAVAILABLE
    log.info("fold stopped: %s", fold.stats)
    return 0


@_guard
def cmd_alerts_list(args: argparse.Namespace) -> int:
    engine = ready_engine(Settings.from_env())

    def read() -> list[AlertView]:
        with transaction(sessions(engine)) as session:
            return list_alerts(
                session,
                open_only=args.open,
                suite_id=args.suite,
                local_authority=args.la,
                limit=args.limit,
            )

    views = guarded(engine, read)
    for view in views:
        print(json.dumps(_jsonable(asdict(view))) if args.json else _line(view))
    if not args.json:
        print(f"{len(views)} alerts", file=sys.stderr)
    return 0


@_guard
def cmd_alerts_show(args: argparse.Namespace) -> int:
    engine = ready_engine(Settings.from_env())

    def read() -> AlertHistory | None:
        with transaction(sessions(engine)) as session:
            return get_alert(session, args.alert_id)

    history = guarded(engine, read)
    if history is None:
        print(f"custodywatch: no alert {args.alert_id}", file=sys.stderr)
        return NOT_FOUND
    if args.json:
        print(json.dumps(_jsonable(asdict(history))))
        return 0
    alert = history.alert
    print(_line(alert))
    print(f"  {alert.summary}")
    print(
        f"  custody record {alert.custody_record_id}, person {alert.person_ref}, "
        f"LA {alert.home_local_authority}, due {_t(alert.due_at)}"
    )
    if alert.ack_at is not None:
        print(f"  acknowledged by {alert.ack_by} ({alert.ack_role or '-'}) at {_t(alert.ack_at)}")
    if alert.next_step_at is not None:
        print(f"  escalation step {alert.escalation_step}, next at {_t(alert.next_step_at)}")
    for entry in history.log:
        actor = f" {entry.actor}" if entry.actor else ""
        print(f"  {_t(entry.at)}  {entry.kind}{actor}  {json.dumps(entry.details, sort_keys=True)}")
    return 0


def _t(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _line(view: AlertView) -> str:
    ack = f"ack {view.ack_by}" if view.ack_by else "unacknowledged"
    return (
        f"{_t(view.raised_at)}  {view.state:<9}  {view.severity:<8}  {view.suite_id:<16}  "
        f"{view.alert_id}  ({ack})"
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
