"""`custodywatch serve` and `custodywatch ack`: parsers, and the files they load.

A bad escalation or routing file, an unset webhook secret or an unusable
database is one line naming what is wrong, and exit 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from custodywatch.argtypes import count
from custodywatch.config import Settings
from custodywatch.lifecycle.policy import EscalationPolicy, PolicyError, policy_from_yaml
from custodywatch.lifecycle.routing import Routing, RoutingError, routing_from_yaml
from custodywatch.store.cli import DEFAULT_BATCH

USAGE = 2
NOT_FOUND = 1
DEFAULT_ESCALATION = Path("alerts/escalation.yaml")
DEFAULT_ROUTING = Path("alerts/routing.yaml")


class ConfigFileError(Exception):
    """A policy or routing file that cannot be used: one line for a person."""


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(f"cannot read {what} file {path}: {exc.strerror}") from None


def load_policy(path: Path | None) -> EscalationPolicy:
    """The file named, else alerts/escalation.yaml if here, else the built-in ladder."""
    if path is None and not DEFAULT_ESCALATION.is_file():
        return EscalationPolicy()
    path = path or DEFAULT_ESCALATION
    try:
        return policy_from_yaml(_read(path, "escalation"))
    except PolicyError as exc:
        raise ConfigFileError(f"{path}: {exc}") from None


def load_routing(path: Path | None) -> Routing:
    path = path or DEFAULT_ROUTING
    if not path.is_file():
        raise ConfigFileError(
            f"no routing file at {path}: pass --routing PATH or set CUSTODYWATCH_ROUTING "
            "(alerts/routing.yaml in the repository is an example)"
        )
    try:
        return routing_from_yaml(_read(path, "routing"))
    except RoutingError as exc:
        raise ConfigFileError(f"{path}: {exc}") from None


def _settings(args: argparse.Namespace, **overrides: object) -> Settings:
    from custodywatch.cli import settings_from_env

    return settings_from_env(args, **overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    from custodywatch.alerting.delivery import RoutingSecretError, webhook_secrets
    from custodywatch.bootstrap import run_serve
    from custodywatch.cli import UsageError, load_rules
    from custodywatch.errors import run_async
    from custodywatch.store.db import StoreUnavailableError, open_engine
    from custodywatch.store.fold import FoldError

    settings = _settings(
        args,
        clock_mode=args.clock_mode,
        escalation_path=args.escalation,
        routing_path=args.routing,
        rules_path=args.rules,
    )
    try:
        open_engine(settings.database_url)  # a bad URL first: nothing else matters without it
        policy = load_policy(settings.escalation_path)
        routing = load_routing(settings.routing_path)
        webhook_secrets(routing)  # every webhook's secret is set, before anything starts
        rules = load_rules(settings.rules_path)
        run_async(run_serve(settings, policy, routing, rules, batch=args.fold_batch))
    except (ConfigFileError, RoutingSecretError, UsageError) as exc:
        print(f"custodywatch: {exc}", file=sys.stderr)
        return USAGE
    except (StoreUnavailableError, FoldError) as exc:
        print(f"custodywatch: {exc}", file=sys.stderr)
        return USAGE
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    from custodywatch.alerting.ack import acknowledge
    from custodywatch.store.db import StoreUnavailableError, migrate, open_engine

    settings = _settings(args, escalation_path=args.escalation)
    try:
        policy = load_policy(settings.escalation_path)
        engine = open_engine(settings.database_url)
        migrate(engine)
        result = acknowledge(
            engine,
            policy,
            args.alert_id,
            user=args.by,
            role=args.role,
            note=args.note,
            now_us=time.time_ns() // 1000,
        )
    except (ConfigFileError, StoreUnavailableError) as exc:
        print(f"custodywatch: {exc}", file=sys.stderr)
        return USAGE
    print(result.message, file=sys.stderr)
    if result.outcome == "unknown":
        return NOT_FOUND
    return USAGE if result.outcome == "refused" else 0


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="the store, the escalation ladder, notifications and the monthly reports "
        "(CUSTODYWATCH_DATABASE_URL)",
    )
    serve.add_argument(
        "--clock-mode",
        choices=["wall", "event"],
        help="wall: escalate on the wall clock (live); event: on the clock topic's time (demo, backfill)",
    )
    serve.add_argument(
        "--escalation", type=Path, help=f"ladder YAML (default {DEFAULT_ESCALATION} or built-in)"
    )
    serve.add_argument("--routing", type=Path, help=f"who is who, YAML (default {DEFAULT_ROUTING})")
    serve.add_argument(
        "--rules",
        type=Path,
        help="rules YAML the monthly reports are made with (default: built-in)",
    )
    serve.add_argument(
        "--fold-batch",
        type=count,
        default=DEFAULT_BATCH,
        help=f"most records folded per database transaction (default {DEFAULT_BATCH})",
    )
    serve.set_defaults(handler=cmd_serve)

    ack = commands.add_parser("ack", help="acknowledge an alert: take ownership, stop escalation")
    ack.add_argument("alert_id", metavar="ALERT_ID")
    ack.add_argument("--by", required=True, help="who acknowledges (user id)")
    ack.add_argument(
        "--role",
        help="routing id of their role, e.g. suite/perry-barr/custody_sergeant "
        "(default: the custody sergeant of the alert's suite)",
    )
    ack.add_argument("--note", help="optional note (kept in the alert's case only, never sent)")
    ack.add_argument("--escalation", type=Path, help="ladder YAML (for its grouping window)")
    ack.set_defaults(handler=cmd_ack)
