"""argparse value types shared by every command line."""

from __future__ import annotations

import argparse
from datetime import datetime


def timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp with an offset, or a usage error (exit 2)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 timestamp: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"timestamp needs an offset, e.g. {text}+00:00")
    return moment
