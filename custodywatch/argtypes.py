"""argparse value types shared by every command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

_N = TypeVar("_N", int, float)


def timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp with an offset, or a usage error (exit 2)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 timestamp: {text!r}") from None
    if moment.tzinfo is None:
        # Suggest the full form: '2026-03-01+00:00' (a date with an offset) is not valid.
        example = moment.replace(tzinfo=UTC).isoformat()
        raise argparse.ArgumentTypeError(f"timestamp needs an offset, e.g. {example}")
    return moment


def _number(text: str, parse: Callable[[str], _N], noun: str) -> _N:
    try:
        return parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None


def positive_float(text: str) -> float:
    """A number above zero (a span, a speed), or a usage error."""
    value = _number(text, float, "a number")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def count(text: str) -> int:
    """A whole number, 0 or more, or a usage error."""
    value = _number(text, int, "a whole number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def positive_count(text: str) -> int:
    """A whole number, 1 or more, or a usage error."""
    value = _number(text, int, "a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return value


def fraction(text: str) -> float:
    """A rate in [0, 1), or a usage error."""
    value = _number(text, float, "a number")
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1): {text!r}")
    return value


def port(text: str) -> int:
    """A TCP port, 0 to 65535 (0: any free port), or a usage error."""
    value = _number(text, int, "a port number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 0 to 65535: {text!r}")
    return value
