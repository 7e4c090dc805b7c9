"""The retry schedule: exponential, capped, fully jittered, over 24 h, then given up."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custodywatch.notify.retry import RetryPolicy, backoff_s, next_attempt_at

POLICY = RetryPolicy(base_s=30, cap_s=3600, give_up_after_s=86_400)
DAY = 86_400.0


def test_the_ceiling_doubles_up_to_the_cap() -> None:
    ceilings = [backoff_s(POLICY, n, lambda: 1.0) for n in range(1, 10)]
    assert ceilings == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff_s(POLICY, 10_000, lambda: 1.0) == 3600  # no overflow far out


def test_full_jitter_draws_from_zero_to_the_ceiling() -> None:
    assert backoff_s(POLICY, 3, lambda: 0.0) == 0.0
    assert backoff_s(POLICY, 3, lambda: 0.5) == 60.0
    rng = random.Random(7)
    draws = [backoff_s(POLICY, 4, rng.random) for _ in range(2000)]
    assert min(draws) >= 0 and max(draws) < 240
    assert min(draws) < 24 and max(draws) > 216  # spread over the whole range


@given(
    failures=st.integers(1, 500),
    draw=st.floats(0, 1, exclude_max=True),
    elapsed=st.floats(0, 2 * DAY),
)
def test_never_before_now_never_past_the_give_up_time(
    failures: int, draw: float, elapsed: float
) -> None:
    at = next_attempt_at(POLICY, failures, 1000.0, 1000.0 + elapsed, lambda: draw)
    if elapsed >= DAY:
        assert at is None
    else:
        assert at is not None
        assert 1000.0 + elapsed <= at <= 1000.0 + DAY


def test_a_notification_that_always_fails_is_tried_for_24_hours_then_given_up() -> None:
    rng = random.Random(1)
    first = now = 1_709_348_400.0
    attempts = 1
    while (at := next_attempt_at(POLICY, attempts, first, now, rng.random)) is not None:
        now, attempts = at, attempts + 1
    assert now == first + DAY  # the last attempt is made at the 24 h mark
    assert 30 < attempts < 200  # about 24 an hour once capped, on average 1 per half-cap


def test_bad_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="base_s"):
        RetryPolicy(base_s=0)
    with pytest.raises(ValueError, match="base_s"):
        RetryPolicy(base_s=10, cap_s=5)
    with pytest.raises(ValueError, match="give_up_after_s"):
        RetryPolicy(give_up_after_s=0)
    with pytest.raises(ValueError, match="failed at least once"):
        backoff_s(POLICY, 0, lambda: 0.5)
