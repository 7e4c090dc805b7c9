"""What a simulation run is: seed, start, span, size and mistake rate."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from custodywatch.sim.force import DEFAULT_FORCE, Force
from custodywatch.sim.targets import PUBLISHED, REFERENCE_MONTHS, Targets
from custodywatch.sim.timefmt import DAY, Calendar, to_seconds

DEFAULT_START = datetime(2025, 4, 1, tzinfo=UTC)
DEFAULT_MISTAKE_RATE = 0.002
CALENDAR_MARGIN_DAYS = 60


def add_months(moment: datetime, months: int) -> datetime:
    """Same day of the month `months` later (clamped to the month's last day)."""
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class SimConfig:
    """What to simulate.

    Detention authorisations (T0) fall in [start, start + months). `detentions`
    defaults to the published rate (54,929 in ten months) over `months`; all the
    published counts scale with it. `mistake_rate` is the expected number of
    deliberately bad extra lines per valid event.
    """

    seed: int = 0
    start: datetime = DEFAULT_START
    months: float = REFERENCE_MONTHS
    detentions: int | None = None
    mistake_rate: float = DEFAULT_MISTAKE_RATE
    force: Force = field(default=DEFAULT_FORCE)
    targets: Targets = field(default=PUBLISHED)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("start needs an offset")
        if self.months <= 0:
            raise ValueError("months must be positive")
        if self.detentions is not None and self.detentions < 0:
            raise ValueError("detentions must be >= 0")
        if not 0.0 <= self.mistake_rate < 1.0:
            raise ValueError("mistake_rate must be in [0, 1)")

    @property
    def start_s(self) -> int:
        return to_seconds(self.start)

    @property
    def end(self) -> datetime:
        if float(self.months).is_integer():
            return add_months(self.start, int(self.months))
        return self.start + timedelta(days=self.months * 365.2425 / 12)

    @property
    def end_s(self) -> int:
        return to_seconds(self.end)

    @property
    def n_detentions(self) -> int:
        if self.detentions is not None:
            return self.detentions
        return round(self.targets.detentions * self.months / REFERENCE_MONTHS)

    @property
    def scale(self) -> float:
        """Detentions relative to the published ten months."""
        return self.n_detentions / self.targets.detentions

    @property
    def tag(self) -> str:
        """Short run tag in record and event ids, so runs with different seeds never clash."""
        return f"{self.seed & 0xFFFFFFFF:x}"

    def calendar(self) -> Calendar:
        return Calendar.covering(
            self.start_s, self.end_s, self.force.zone, margin_days=CALENDAR_MARGIN_DAYS
        )


@dataclass(frozen=True)
class Run:
    """A run's fixed naming and time base."""

    base: int
    """Epoch seconds of time 0 of emitted items (00:00 UTC of the calendar's first day)."""
    record_prefix: str

    @classmethod
    def of(cls, config: SimConfig) -> Run:
        first_day = config.start_s // DAY - CALENDAR_MARGIN_DAYS  # as in `calendar()`
        return cls(first_day * DAY, f"CR-{config.tag}-")
