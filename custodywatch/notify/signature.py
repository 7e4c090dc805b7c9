"""Webhook body signatures: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.

Pure (hashlib and hmac only), so a receiver can copy or import it without the
rest of custodywatch. Time is a parameter.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Custodywatch-Signature"
DEFAULT_TOLERANCE_S = 300


def _digest(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, b"%d." % timestamp + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The header value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify_signature(
    secret: bytes,
    header: str | None,
    body: bytes,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """True when `header` signs exactly `body` with `secret` within `tolerance_s` of `now`.

    A timestamp too far in the past (a replay) or the future is refused, as is a
    malformed header. Several `v1=` entries may be given (a secret being rotated):
    one matching is enough. Comparison is constant-time.
    """
    if not header:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if name == "t":
            if timestamp is not None or not value.isdigit():
                return False
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance_s:
        return False
    expected = _digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, c) for c in candidates)
