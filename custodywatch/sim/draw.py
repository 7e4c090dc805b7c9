"""Cheap random draws on top of `random.Random` (one `random()` call each).

`Random.choices` and `Random.randrange` are several times slower than
`random()`; the simulator draws millions of values, so it uses these instead.
Every draw of a run comes from its one seeded generator, in a fixed order, so
the seed fixes the output.
"""

from __future__ import annotations

import math
from bisect import bisect
from collections.abc import Mapping, Sequence
from random import Random
from typing import Generic, TypeVar

T = TypeVar("T")


class Weighted(Generic[T]):
    """Pick from fixed items with fixed weights: `pick(rng.random())`."""

    __slots__ = ("cumulative", "items")

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        if len(items) != len(weights) or not items:
            raise ValueError("items and weights must be non-empty and the same length")
        total = float(sum(weights))
        running = 0.0
        cumulative: list[float] = []
        for w in weights:
            running += w / total
            cumulative.append(running)
        cumulative[-1] = 1.0 + 1e-9  # rounding can leave the last bound below 1
        self.items: tuple[T, ...] = tuple(items)
        self.cumulative = cumulative

    @classmethod
    def of(cls, mapping: Mapping[T, float]) -> Weighted[T]:
        return cls(list(mapping), list(mapping.values()))

    def pick(self, u: float) -> T:
        """`u` uniform in [0, 1)."""
        return self.items[bisect(self.cumulative, u)]


def geometric_gap(rng: Random, rate: float) -> int:
    """Number of trials up to and including the next success (rate in (0, 1))."""
    u = 1.0 - rng.random()  # (0, 1]
    return 1 + int(math.log(u) / math.log1p(-rate))


def lognormal_with_mean(rng: Random, mean: float, sigma: float) -> float:
    """A log-normal draw whose expectation is `mean`."""
    return mean * math.exp(sigma * rng.gauss(0.0, 1.0) - 0.5 * sigma * sigma)
