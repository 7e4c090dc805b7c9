"""Logging for every command: one line per event of interest, text or JSON lines.

`setup_logging(format, level)` configures the root logger on stderr:

- ``text``: ``2026-11-14T08:00:00.123Z INFO custodywatch worker starting ...``
- ``json``: one object per line: ``ts``, ``level``, ``logger``, ``message``, and
  any ``extra=`` fields of the call (ids, counts, reason codes; never personal data).

It also keeps aiokafka's logs to what a person should see: WARNING and up
(INFO when we log at DEBUG; never its DEBUG, which logs SASL PLAIN credentials
in clear), without the errors it retries at once while a group forms or a new
topic gets its leaders, and with "Unable connect to ..." kept back for the
one-line error that `custodywatch.errors` prints (`last_connect_error()`).

May import the standard library only.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, ClassVar

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")

# Attributes every LogRecord has; anything else came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if extra:
            line += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((k, v) for k, v in vars(record).items() if k not in _STANDARD)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class _Retries(logging.Filter):
    """Drop aiokafka's ERROR lines for retriable errors that it retries at once:
    a coordinator lookup while a new group forms, an offset lookup while a new
    topic's leaders are elected. They come every retry, then it succeeds; a
    worker that never gets going shows as consumer lag on the dashboard."""

    # message template -> position of the error among its arguments
    RETRIED: ClassVar[dict[str, int]] = {
        "Group Coordinator Request failed: %s": 0,
        "Failed fetch offsets from %s: %s": 1,
    }

    def filter(self, record: logging.LogRecord) -> bool:
        at = self.RETRIED.get(str(record.msg))
        if at is None or not isinstance(record.args, tuple) or len(record.args) <= at:
            return True
        return not getattr(record.args[at], "retriable", False)


class _ConnectFailures(logging.Filter):
    """Keep back aiokafka's 'Unable connect to "host:port": reason' lines; the
    command's own one-line error says it, with what to do."""

    last: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != 'Unable connect to "%s:%s": %s' or not isinstance(record.args, tuple):
            return True
        _ConnectFailures.last = str(record.args[-1])
        return False


def last_connect_error() -> str | None:
    """Why aiokafka last failed to connect to a bootstrap server (e.g. `[Errno 111]
    Connect call failed ...`, a TLS or SASL failure), if it has."""
    return _ConnectFailures.last


def setup_logging(fmt: str = "text", level: str = "info") -> None:
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    aiokafka = logging.getLogger("aiokafka")
    # Its INFO lines (group joins, assignments) only when we debug; never its
    # DEBUG lines, which carry SASL PLAIN credentials.
    aiokafka.setLevel(
        logging.INFO if root.level <= logging.DEBUG else max(root.level, logging.WARNING)
    )
    for name in ("aiokafka.consumer.group_coordinator", "aiokafka.consumer.fetcher"):
        _add_once(logging.getLogger(name), _Retries())
    _add_once(aiokafka, _ConnectFailures())  # aiokafka/client.py logs as "aiokafka"


def _add_once(logger: logging.Logger, new: logging.Filter) -> None:
    if not any(type(f) is type(new) for f in logger.filters):
        logger.addFilter(new)
