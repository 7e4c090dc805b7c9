"""Measure a stream of custody events against the published figures.

`measure` reads JSONL lines (generated, or from any producer), decodes each with
the contract (`custodywatch.contract.rejects.decode`; rejects are counted and
skipped, as are orphans and events after an episode ended) and computes the
figures the simulator is calibrated to. `compare` turns them into rows
(name, generated, target, tolerance, ok) against the published figures scaled
to the run's number of detentions.

Definitions:

* a detention is a `detention_authorised`; its duration runs from that event's
  `occurred_at` (T0) to `released` or `transferred_to_la` (open episodes count
  as detentions but not in the means);
* a child is under 18 at T0 by the *last* date of birth given (after any
  `age_established`), else by `appears_under_18` (PACE Code C 1.5);
* "held at a children's suite": the suite where detention was authorised;
* monthly means are by calendar month (UTC) of T0;
* remanded: a child with `bail_refused`; exempt: of those, arrested on a
  warrant, for breach of bail or on a court remand (the `la_request_missing`
  exemption list); needing LA accommodation: the others; transferred: with
  `transferred_to_la`; not requested: no `la_accommodation_requested`; no
  accommodation: requested but not transferred;
* local authorities: distinct `home_local_authority` values.

Tolerances (stated in every row): detentions within 0.5%; other counts within
5% or 2, whichever is more; % under 18 within 0.25 points; % of children at
the children's suites within 1.5 points; mean durations within 10 minutes
(monthly means 15), widened for small runs as `CONTROLLED_SPREAD` explains.
The target of the children's overall mean is the published 9h35m when the run
covers the ten published months, else the published monthly means it covers,
weighted by its children.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from custodywatch.contract import events as ev
from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.clock import local_date
from custodywatch.core.episode import age_on
from custodywatch.sim.force import CHILDRENS_SUITES
from custodywatch.sim.targets import (
    MONTHLY_CHILD_MEAN_MIN,
    PUBLISHED,
    Targets,
    child_mean_for_month,
)

EXEMPT_BASES = frozenset(
    {ev.ArrestBasis.WARRANT, ev.ArrestBasis.BREACH_OF_BAIL, ev.ArrestBasis.COURT_REMAND}
)
MIN_CHILDREN_FOR_MONTH = 30
"""A month with fewer children (e.g. a partial month at the edge of a run) is not checked."""

CONTROLLED_SPREAD = 1500.0
"""The simulator steers each month's mean duration (see `durations.DurationControls`).
What randomness is left makes a month's mean of n episodes off by about 500 / n
minutes (one standard deviation, measured over 400 months of 81 children), with
a heavy tail: a few children refused bail at the end of a small month, held over
a weekend for Monday's court, cannot be made up for. Tolerances on means allow
3 x 1500 / n minutes (never exceeded in those 400 months), and are never
tighter than the published-figure tolerances below."""
MEAN_TOLERANCE_MIN = 10.0  # overall means, children and adults
MONTH_TOLERANCE_MIN = 15.0  # monthly means of children


@dataclass(slots=True)
class _Episode:
    t0: datetime
    suite: str
    dob: date | None
    appears_under_18: bool | None
    basis: ev.ArrestBasis
    home_la: str
    end: datetime | None = None
    bail_refused: bool = False
    requested: bool = False
    transferred: bool = False


@dataclass
class Figures:
    """What a stream of events says, in the published figures' terms."""

    detentions: int = 0
    children: int = 0
    children_at_childrens_suites: int = 0
    child_minutes: float = 0.0
    child_ended: int = 0
    adult_minutes: float = 0.0
    adult_ended: int = 0
    monthly: dict[str, tuple[float, int]] = field(default_factory=dict)
    """'YYYY-MM' -> (mean child minutes, children ended)."""
    remanded: int = 0
    exempt: int = 0
    needing_la: int = 0
    transferred: int = 0
    not_requested: int = 0
    no_accommodation: int = 0
    local_authorities: int = 0
    events: int = 0
    rejects: int = 0
    orphans: int = 0

    @property
    def child_share(self) -> float:
        return self.children / self.detentions if self.detentions else 0.0

    @property
    def childrens_suite_share(self) -> float:
        return self.children_at_childrens_suites / self.children if self.children else 0.0

    @property
    def child_mean_min(self) -> float:
        return self.child_minutes / self.child_ended if self.child_ended else math.nan

    @property
    def adult_mean_min(self) -> float:
        return self.adult_minutes / self.adult_ended if self.adult_ended else math.nan


def _is_child(e: _Episode, zone: str) -> bool:
    if e.dob is not None:
        t0_us = int(e.t0.timestamp()) * 1_000_000
        return age_on(e.dob, local_date(t0_us, zone)) < 18
    return e.appears_under_18 is True


def measure(
    lines: Iterable[str | bytes],
    childrens_suites: Iterable[str] = CHILDRENS_SUITES,
    zone: str = "Europe/London",
) -> Figures:
    """Figures of the valid events among `lines` (file order; one JSON object per line)."""
    episodes: dict[str, _Episode] = {}
    seen: set[str] = set()
    fig = Figures()
    for raw in lines:
        event = decode(raw)
        if isinstance(event, Reject):
            fig.rejects += 1
            continue
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        rid = event.custody_record_id
        if isinstance(event, ev.DetentionAuthorised):
            if rid in episodes:
                continue
            p = event.payload
            episodes[rid] = _Episode(
                event.occurred_at,
                event.suite_id,
                p.detainee.date_of_birth,
                p.detainee.appears_under_18,
                p.arrest_basis,
                p.home_local_authority,
            )
            fig.events += 1
            continue
        e = episodes.get(rid)
        if e is None:
            fig.orphans += 1
            continue
        if e.end is not None:
            continue
        fig.events += 1
        if isinstance(event, ev.AgeEstablished):
            e.dob = event.payload.date_of_birth
        elif isinstance(event, ev.BailRefused):
            e.bail_refused = True
        elif isinstance(event, ev.LaAccommodationRequested):
            e.requested = True
        elif isinstance(event, ev.TransferredToLa):
            e.transferred = True
            e.end = event.occurred_at
        elif isinstance(event, ev.Released):
            e.end = event.occurred_at
    return _summarise(fig, episodes.values(), frozenset(childrens_suites), zone)


def _summarise(
    fig: Figures, episodes: Iterable[_Episode], childrens_suites: frozenset[str], zone: str
) -> Figures:
    las: set[str] = set()
    months: dict[str, list[float]] = {}
    for e in episodes:
        fig.detentions += 1
        las.add(e.home_la)
        minutes = (e.end - e.t0).total_seconds() / 60 if e.end is not None else None
        if not _is_child(e, zone):
            if minutes is not None:
                fig.adult_minutes += minutes
                fig.adult_ended += 1
            continue
        fig.children += 1
        fig.children_at_childrens_suites += e.suite in childrens_suites
        if minutes is not None:
            fig.child_minutes += minutes
            fig.child_ended += 1
            slot = months.setdefault(f"{e.t0.year:04d}-{e.t0.month:02d}", [0.0, 0])
            slot[0] += minutes
            slot[1] += 1
        if not e.bail_refused:
            continue
        fig.remanded += 1
        if e.basis in EXEMPT_BASES:
            fig.exempt += 1
            continue
        fig.needing_la += 1
        if e.transferred:
            fig.transferred += 1
        elif not e.requested:
            fig.not_requested += 1
        else:
            fig.no_accommodation += 1
    fig.local_authorities = len(las)
    fig.monthly = {m: (total / n, int(n)) for m, (total, n) in sorted(months.items())}
    return fig


class Unit(StrEnum):
    COUNT = "count"
    PERCENT = "percent"
    MINUTES = "minutes"


@dataclass(frozen=True)
class Row:
    name: str
    generated: float
    target: float
    tolerance: float
    ok: bool
    unit: Unit = Unit.COUNT

    def cells(self) -> tuple[str, str, str, str, str]:
        return (
            self.name,
            _fmt(self.generated, self.unit),
            _fmt(self.target, self.unit),
            "±" + _fmt(self.tolerance, self.unit),
            "OK" if self.ok else "FAIL",
        )


def _fmt(value: float, unit: Unit) -> str:
    if math.isnan(value):
        return "-"
    if unit is Unit.PERCENT:
        return f"{value:.2f}%"
    if unit is Unit.MINUTES:
        minutes = round(value)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _row(name: str, got: float, want: float, tol: float, unit: Unit = Unit.COUNT) -> Row:
    ok = not math.isnan(got) and abs(got - want) <= tol + 1e-9
    return Row(name, got, want, tol, ok, unit)


def _count_row(name: str, got: int, published: int, scale: float) -> Row:
    """Counts: the published count scaled; within 5% or 2, whichever is more."""
    want = round(published * scale)
    return _row(name, got, want, max(2.0, round(0.05 * want, 1)))


def _child_mean_target(fig: Figures, t: Targets) -> float:
    """The published mean for the published ten months; else theirs, weighted by children."""
    months = {int(m[5:]) for m in fig.monthly}
    if len(fig.monthly) == len(MONTHLY_CHILD_MEAN_MIN) and months == set(MONTHLY_CHILD_MEAN_MIN):
        return t.child_mean_min
    n = sum(count for _, count in fig.monthly.values())
    if n == 0:
        return t.child_mean_min
    weighted = sum(child_mean_for_month(int(m[5:]), t) * c for m, (_, c) in fig.monthly.items())
    return weighted / n


def _mean_tolerance(n: int, months: int) -> float:
    """Of a mean over `months` steered months holding `n` episodes in all."""
    if n == 0:
        return MEAN_TOLERANCE_MIN
    spread = CONTROLLED_SPREAD * math.sqrt(max(months, 1)) / n
    return max(MEAN_TOLERANCE_MIN, round(3 * spread))


def compare(fig: Figures, scale: float = 1.0, targets: Targets = PUBLISHED) -> list[Row]:
    """Rows of generated vs target vs tolerance. `scale` = detentions / 54,929."""
    t = targets
    rows = [
        _row(
            "detentions",
            fig.detentions,
            round(t.detentions * scale),
            max(1.0, round(0.005 * t.detentions * scale)),
        ),
        _count_row("children (under 18)", fig.children, t.children, scale),
        _row("% under 18", 100 * fig.child_share, 100 * t.child_share, 0.25, Unit.PERCENT),
        _row(
            "% of children at the children's suites",
            100 * fig.childrens_suite_share,
            100 * t.childrens_suite_share,
            1.5,
            Unit.PERCENT,
        ),
        _row(
            "mean detention, children",
            fig.child_mean_min,
            _child_mean_target(fig, t),
            _mean_tolerance(fig.child_ended, len(fig.monthly)),
            Unit.MINUTES,
        ),
        _row(
            "mean detention, adults",
            fig.adult_mean_min,
            t.adult_mean_min,
            _mean_tolerance(fig.adult_ended, len(fig.monthly)),
            Unit.MINUTES,
        ),
    ]
    for month, (mean, n) in fig.monthly.items():
        if n < MIN_CHILDREN_FOR_MONTH:
            continue
        want = child_mean_for_month(int(month[5:]), t)
        tolerance = max(MONTH_TOLERANCE_MIN, round(3 * CONTROLLED_SPREAD / n))
        rows.append(_row(f"mean detention, children, {month}", mean, want, tolerance, Unit.MINUTES))
    rows += [
        _count_row("children remanded after charge", fig.remanded, t.remanded, scale),
        _count_row("  exempt (warrant / breach of bail)", fig.exempt, t.exempt, scale),
        _count_row("  needing LA accommodation", fig.needing_la, t.needing_la, scale),
        _count_row("    transferred to LA", fig.transferred, t.transferred, scale),
        _count_row("    no request made", fig.not_requested, t.not_requested, scale),
        _count_row(
            "    no suitable accommodation", fig.no_accommodation, t.no_accommodation, scale
        ),
        _row("local authorities", fig.local_authorities, t.local_authorities, 0),
    ]
    return rows


def format_table(rows: Iterable[Row]) -> str:
    header = ("figure", "generated", "target", "tolerance", "")
    body = [r.cells() for r in rows]
    widths = [max(len(c[i]) for c in [header, *body]) for i in range(5)]
    out = []
    for cells in [header, *body]:
        out.append(
            "  ".join(
                c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)
            ).rstrip()
        )
    return "\n".join(out)
