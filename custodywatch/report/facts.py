"""The report's inputs, parsed once: episodes with their times as datetimes, the
period's membership rule, and `AlertOutcome` (what people did with an alert).

An episode belongs to a report when its T0 (`detention_authorised_at`) falls on a
date from `start` to `end` inclusive, in the force's time zone, and it matches
the LA (the child's home local authority) and suite (the suite where detention
was authorised) filters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from custodywatch.contract.alerts import AlertRecord
from custodywatch.contract.episodes import EpisodeSummary
from custodywatch.report.model import ReportQuery


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """What happened to one raised alert after it reached people (from the store).

    `steps_reached`: the highest escalation step notified (0 = only at raise)."""

    alert_id: str
    raised_at: datetime
    acknowledged_at: datetime | None
    steps_reached: int


def parse_time(text: str) -> datetime:
    """RFC 3339 ('...Z' or an offset) -> aware datetime."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {text!r}")
    return moment


def _maybe(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


@dataclass(frozen=True, slots=True)
class Facts:
    """One episode of the report, with the times the tables use."""

    summary: EpisodeSummary
    t0: datetime
    local_t0: datetime
    end: datetime | None
    bail_refused: datetime | None
    first_request: datetime | None
    transferred: datetime | None
    month: str
    """'YYYY-MM' of T0, local time."""
    minutes: float | None
    """Detention length (T0 to release or transfer); None while still held."""

    @property
    def booking_suite(self) -> str:
        """The suite where detention was authorised."""
        s = self.summary
        return s.suites[0].suite_id if s.suites else s.suite_id


def facts_of(summary: EpisodeSummary, zone: ZoneInfo) -> Facts:
    s = summary
    t0 = parse_time(s.detention_authorised_at)
    requests = sorted(parse_time(r.requested_at) for r in s.la_requests)
    local_t0, end = t0.astimezone(zone), _maybe(s.ended_at)
    # Kept as fields, not properties: the sections read them 170,000 times in ten months.
    return Facts(
        summary=s,
        t0=t0,
        local_t0=local_t0,
        end=end,
        bail_refused=_maybe(s.bail_refused_at),
        first_request=requests[0] if requests else None,
        transferred=_maybe(s.transferred_to_la_at),
        month=f"{local_t0.year:04d}-{local_t0.month:02d}",
        minutes=None if end is None else (end - t0).total_seconds() / 60,
    )


def in_period(f: Facts, query: ReportQuery) -> bool:
    day: date = f.local_t0.date()
    if not query.start <= day <= query.end:
        return False
    if (
        query.local_authority is not None
        and f.summary.home_local_authority != query.local_authority
    ):
        return False
    return query.suite is None or f.booking_suite == query.suite


def select(summaries: Iterable[EpisodeSummary], query: ReportQuery, zone: ZoneInfo) -> list[Facts]:
    """The episodes of the period, in T0 order (ties by custody record)."""
    chosen = [f for f in (facts_of(s, zone) for s in summaries) if in_period(f, query)]
    chosen.sort(key=lambda f: (f.t0, f.summary.custody_record_id))
    return chosen


def months_of(query: ReportQuery) -> list[str]:
    """Every 'YYYY-MM' from the period's first month to its last."""
    year, month = query.start.year, query.start.month
    out = []
    while (year, month) <= (query.end.year, query.end.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def standing_alerts(alerts: Iterable[AlertRecord], records: set[str]) -> list[AlertRecord]:
    """The latest record of each alert of the report's episodes, retracted ones left out.

    (A retracted alert should never have fired; replay's output has none.)"""
    latest: dict[str, AlertRecord] = {}
    for a in alerts:
        if a.custody_record_id in records:
            latest[a.alert_id] = a  # the topic is each alert's history: last record wins
    return [a for a in latest.values() if a.state != "retracted"]
