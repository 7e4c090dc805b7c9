"""`custodywatch alerts list|show`: what the store holds.

`add_parsers(commands)` adds them to the main command line. The handlers live
in `store/commands.py`, imported only when one of these commands runs, so the
other commands do not pay for SQLAlchemy and Alembic at start-up.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from custodywatch.argtypes import count

DEFAULT_BATCH = 2000
"""Most records folded per database transaction."""


def _handler(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from custodywatch.store import commands

        handler: Callable[[argparse.Namespace], int] = getattr(commands, name)
        return handler(args)

    return run


def add_parsers(alert_commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`alerts list` and `alerts show` in the `alerts` group (beside `tail`)."""
    listing = alert_commands.add_parser("list", help="alerts, newest raised first")
    listing.add_argument("--open", action="store_true", help="only alerts still raised")
    listing.add_argument("--suite", help="only this custody suite")
    listing.add_argument("--la", help="only children of this home local authority")
    listing.add_argument("--limit", type=count, help="at most this many")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(handler=_handler("cmd_alerts_list"))
    show = alert_commands.add_parser("show", help="one alert and its whole history")
    show.add_argument("alert_id", metavar="ALERT_ID")
    show.add_argument("--json", action="store_true", help="one JSON object")
    show.set_defaults(handler=_handler("cmd_alerts_show"))
