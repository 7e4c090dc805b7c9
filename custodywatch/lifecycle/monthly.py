"""Which monthly reports are due: each LA's report for month M, to its safeguarding
partnership, from 00:00 local time on the first day of month M+1.

Pure: `now` and the store's facts (its first detention, the deliveries already
queued) are parameters. A report is one notification per partnership channel,
keyed `report:{la}:{YYYY-MM}`; the outbox holds one row per (key, channel,
address), so what is due is what has no row yet, and queueing it twice (a
restart, a second serve) adds nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from custodywatch.core.clock import local_date
from custodywatch.lifecycle.routing import Address, Routing, addresses_of

CATCH_UP_MONTHS = 3
"""How many completed months back a report is still sent (after an outage, or to a
contact newly added to routing); older months are never sent by serve."""

Sent = Collection[tuple[str, str, str]]
"""(idempotency key, channel, address) of the report deliveries already queued."""


@dataclass(frozen=True, slots=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.next().first_day.toordinal() - 1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)


def report_key(la: str, month: Month) -> str:
    return f"report:{la}:{month}"


def partnership(la: str) -> str:
    """The routing id the reports go to."""
    return f"la/{la}/safeguarding_partnership"


@dataclass(frozen=True, slots=True)
class DueReport:
    local_authority: str
    month: Month
    addresses: tuple[Address, ...]
    """The partnership's channels that have not been sent this report yet."""
    data_from: date | None = None
    """The store's first detention, when it falls inside the month (a partial month)."""

    @property
    def key(self) -> str:
        return report_key(self.local_authority, self.month)

    @property
    def recipient(self) -> str:
        return partnership(self.local_authority)


def due_reports(
    now_us: int,
    routing: Routing,
    zone: str,
    first_t0_us: int | None,
    sent: Sent,
    catch_up: int = CATCH_UP_MONTHS,
) -> list[DueReport]:
    """Every (LA, month) report due at `now_us` with a channel still to be sent, oldest first.

    Months run from the month of the store's first detention (`first_t0_us`; none
    without data) to the last month ended by `now_us`, and at most `catch_up`
    months back. Every LA in routing gets every month's report, children or not:
    the same report each month, comparable across LAs.
    """
    if first_t0_us is None:
        return []
    first_day = local_date(first_t0_us, zone)
    # The month before now's local month has ended: 00:00 on this month's first day.
    last = Month.of(local_date(now_us, zone)).previous()
    months: list[Month] = []
    month = last
    while len(months) < catch_up and month >= Month.of(first_day):
        months.append(month)
        month = month.previous()
    sent_set = set(sent)
    due: list[DueReport] = []
    for month in reversed(months):
        partial = first_day if first_day > month.first_day else None
        for la in sorted(routing.local_authorities):
            key = report_key(la, month)
            missing = tuple(
                a
                for a in addresses_of(routing.local_authorities[la].safeguarding_partnership)
                if (key, a.channel, a.address) not in sent_set
            )
            if missing:
                due.append(DueReport(la, month, missing, partial))
    return due
