"""What the `report` and `whatif` commands share: argument types, the rules file,
the store's read-only engine, and `settle` for a one-shot command's inputs."""

from __future__ import annotations

import argparse
import gc
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from custodywatch.core.config import RuleConfig, RuleConfigError, rules_from_yaml
from custodywatch.report.sources import SourceError

if TYPE_CHECKING:
    from sqlalchemy import Engine

USAGE_ERROR = 2


def date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def positive_arg(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


def rules_text(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"cannot read rules file {path}: {exc.strerror}") from None


def load_rules(path: Path | None) -> RuleConfig:
    try:
        return rules_from_yaml(rules_text(path))
    except RuleConfigError as exc:
        raise SourceError(f"{path}: {exc}") from None


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


def store_reader(url: str | None) -> Engine:
    """The schema brought up to date, then a read-only engine: a report beside a busy
    `serve` never holds its writes up (on SQLite it takes no write lock)."""
    from custodywatch.config import Settings
    from custodywatch.store.db import migrate, open_engine

    url = url if url is not None else Settings.from_env().database_url
    migrate(open_engine(url))
    return open_engine(url, read_only=True)
