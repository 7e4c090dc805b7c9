"""When to try a failed delivery again: exponential backoff with full jitter, for 24 h.

Pure: the random source and the times are parameters. Attempt n (n failures so
far) waits a uniform draw from [0, min(cap, base * 2**(n-1))]. The last try is
at the give-up time at the latest; after it fails the notification is `failed`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_s: float = 30.0
    """Upper bound of the first wait."""
    cap_s: float = 3600.0
    """No wait longer than this."""
    give_up_after_s: float = 24 * 3600.0
    """Counted from the first attempt."""

    def __post_init__(self) -> None:
        if not 0 < self.base_s <= self.cap_s:
            raise ValueError("retry policy needs 0 < base_s <= cap_s")
        if self.give_up_after_s <= 0:
            raise ValueError("retry policy needs give_up_after_s > 0")


def backoff_s(policy: RetryPolicy, failures: int, rand: Callable[[], float]) -> float:
    """The wait after the `failures`-th failure (1-based); `rand()` is uniform in [0, 1)."""
    if failures < 1:
        raise ValueError("backoff_s is for a delivery that has failed at least once")
    # min() before the power would be exact too, but 2**failures overflows a float
    # past about 1,000 failures; the exponent is capped instead.
    ceiling = min(policy.cap_s, policy.base_s * 2.0 ** min(failures - 1, 64))
    return rand() * ceiling


def next_attempt_at(
    policy: RetryPolicy,
    failures: int,
    first_attempt_at: float,
    now: float,
    rand: Callable[[], float],
) -> float | None:
    """When to try again after `failures` failed attempts, or None: give up now.

    A wait that would pass the give-up time is cut to it, so the last attempt is
    made at the give-up time; a failure at or after it is final.
    """
    give_up_at = first_attempt_at + policy.give_up_after_s
    if now >= give_up_at:
        return None
    return min(now + backoff_s(policy, failures, rand), give_up_at)
