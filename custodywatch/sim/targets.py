"""Published figures the simulator is calibrated to.

A large English force over ten months (April to January): detentions, children,
where children were held, how long, and what happened to children refused bail
after charge (PACE s.38(6)). Counts scale with the number of detentions; shares
and mean durations do not.
"""

from __future__ import annotations

from dataclasses import dataclass

REFERENCE_MONTHS = 10
REFERENCE_START_MONTH = 4  # April


def hm(text: str) -> int:
    """'09:35' -> minutes."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True)
class Targets:
    detentions: int = 54_929
    children: int = 4_472
    childrens_suite_share: float = 0.54
    child_mean_min: int = 9 * 60 + 35
    adult_mean_min: int = 15 * 60 + 9
    remanded: int = 316
    exempt: int = 117
    needing_la: int = 199
    transferred: int = 21
    not_requested: int = 3
    no_accommodation: int = 175
    local_authorities: int = 7

    @property
    def child_share(self) -> float:
        return self.children / self.detentions


PUBLISHED = Targets()

MONTHLY_CHILD_MEAN_MIN: dict[int, int] = {
    4: hm("08:41"),
    5: hm("08:59"),
    6: hm("09:25"),
    7: hm("09:58"),
    8: hm("08:34"),
    9: hm("08:26"),
    10: hm("10:07"),
    11: hm("09:40"),
    12: hm("11:18"),
    1: hm("10:44"),
}
"""Mean child detention by calendar month of T0 (published April to January)."""


def child_mean_for_month(month: int, targets: Targets = PUBLISHED) -> int:
    """February and March were not published: they use the ten-month mean."""
    return MONTHLY_CHILD_MEAN_MIN.get(month, targets.child_mean_min)


@dataclass(frozen=True)
class Quotas:
    """Exact counts for one run, the published ones scaled to its detentions."""

    detentions: int
    children: int
    childrens_suite: int
    exempt: int
    transferred: int
    not_requested: int
    no_accommodation: int

    @property
    def needing_la(self) -> int:
        return self.transferred + self.not_requested + self.no_accommodation

    @property
    def remanded(self) -> int:
        return self.exempt + self.needing_la


def quotas_for(detentions: int, targets: Targets = PUBLISHED) -> Quotas:
    scale = detentions / targets.detentions
    children = round(targets.children * scale)
    return Quotas(
        detentions=detentions,
        children=children,
        childrens_suite=round(children * targets.childrens_suite_share),
        exempt=round(targets.exempt * scale),
        transferred=round(targets.transferred * scale),
        not_requested=round(targets.not_requested * scale),
        no_accommodation=round(targets.no_accommodation * scale),
    )
