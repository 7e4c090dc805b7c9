"""Mean durations steered to the published figures: one feedback controller per (group, month).

Durations of ordinary episodes are log-normal around a target that a
controller per (adults / children, calendar month) nudges, so that each
month's mean lands on the published figure while each episode stays random.
"""

from __future__ import annotations

from custodywatch.sim.profiles import (
    ADULT,
    EXEMPT,
    FEATURE_SHIFT,
    NO_ACCOMMODATION,
    NOT_REQUESTED,
    PROFILE_MASK,
    TRANSFER,
)
from custodywatch.sim.targets import Targets, child_mean_for_month
from custodywatch.sim.timefmt import MINUTE

CONTROL_SHIFT = 3  # the controller corrects 1/8 of the shortfall per episode

# Mean durations (minutes) of the episodes whose end the clock sets (the morning
# court, a transfer, an extension), measured over 450,000 simulated detentions.
CLOCK_DRIVEN_MINUTES: dict[tuple[int, int], int] = {
    (EXEMPT, 0): 1450,
    (TRANSFER, 0): 650,
    (NOT_REQUESTED, 0): 1450,
    (NO_ACCOMMODATION, 0): 1500,
    (ADULT, 4): 1460,  # Feature.REMANDED
    (ADULT, 3): 1900,  # Feature.EXTENDED
}


def clock_driven_minutes(code: int) -> int | None:
    """Expected duration of an episode with this code, if the clock sets its end."""
    return CLOCK_DRIVEN_MINUTES.get((code & PROFILE_MASK, code >> FEATURE_SHIFT))


class DurationControls:
    """Feedback on running mean durations, one controller per (group, calendar month).

    `shortfall[key]` (seconds) is the sum over the month's episodes so far of
    (target - duration); `pending[key]` the expected surplus over the target of
    the month's episodes still to come whose end the clock sets (remands held
    for the morning court, extensions). `suggest` returns the mean to draw the
    next ordinary episode from: the target, plus 1/8 of the shortfall (or all of
    it spread over the episodes left once fewer than 8 are left, so that the
    month ends on target), minus an even share of `pending` (so that ordinary
    episodes make room, evenly through the month, for the long ones to come).
    Integer arithmetic: the generator inlines it for adults (taking their share
    of `pending` once a day rather than per episode). A key is
    `(month_index - first_month_index) * 2 + is_child` (see
    `Calendar.month_index`); `remaining` counts the month's episodes still to come.
    """

    __slots__ = ("first_month", "pending", "remaining", "shortfall")

    def __init__(self, first_month: int, months: int) -> None:
        self.first_month = first_month
        self.shortfall: list[int] = [0] * (2 * months)
        self.pending: list[int] = [0] * (2 * months)
        self.remaining: list[int] = [0] * (2 * months)

    def key(self, month_index: int, child: bool) -> int:
        return (month_index - self.first_month) * 2 + child

    def suggest(self, key: int, target: int) -> int:
        left, shortfall = max(self.remaining[key], 1), self.shortfall[key]
        feedback = shortfall >> CONTROL_SHIFT if left > 1 << CONTROL_SHIFT else shortfall // left
        mean = target + feedback - self.pending[key] // left
        return min(max(mean, bounded_low(target)), bounded_high(target))

    def expect(self, key: int, surplus: int, count: int = 1) -> None:
        """`count` clock-driven episodes to come, each expected to last `surplus` over the target."""
        self.pending[key] += surplus * count
        self.remaining[key] += count

    def record(self, key: int, target: int, seconds: int, surplus: int = 0) -> None:
        """An episode of `seconds`; `surplus`: what `expect` was told of it, if anything."""
        self.shortfall[key] += target - seconds
        self.pending[key] -= surplus
        self.remaining[key] -= 1


def bounded_low(target: int) -> int:
    """The least mean `suggest` returns (35% of the target)."""
    return target * 35 // 100


def bounded_high(target: int) -> int:
    """The greatest mean `suggest` returns (180% of the target)."""
    return target * 9 // 5


def target_seconds(child: bool, month: int, targets: Targets) -> int:
    """Target mean duration for adults, or for children detained in calendar `month`."""
    if child:
        return child_mean_for_month(month, targets) * MINUTE
    return targets.adult_mean_min * MINUTE
