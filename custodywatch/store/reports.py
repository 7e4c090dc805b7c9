"""The monthly reports' rows: what the due decision reads, and the rendered reports.

Each function works inside the caller's session and transaction; none commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from custodywatch.store.db import dialect_insert
from custodywatch.store.schema import episodes, monthly_reports, outbox

REPORT_KEY_PREFIX = "report:"


@dataclass(frozen=True, slots=True)
class StoredReport:
    local_authority: str
    month: str
    generated_at: datetime
    html: bytes
    csv_zip: bytes
    notice: dict[str, Any]


def first_t0(session: Session) -> datetime | None:
    """When the store's first detention was authorised (any age); None when it has none."""
    first: datetime | None = session.scalar(select(func.min(episodes.c.t0)))
    return first


def report_deliveries(session: Session) -> set[tuple[str, str, str]]:
    """(key, channel, address) of every report notification in the outbox, sent or not."""
    rows = session.execute(
        select(outbox.c.idempotency_key, outbox.c.channel, outbox.c.address).where(
            outbox.c.idempotency_key.startswith(REPORT_KEY_PREFIX)
        )
    )
    return {(k, c, a) for k, c, a in rows}


def save_report(session: Session, report: StoredReport) -> StoredReport:
    """Keep `report` unless that LA's month is kept already; returns the one kept."""
    session.execute(
        dialect_insert(session, monthly_reports)
        .values(
            local_authority=report.local_authority,
            month=report.month,
            generated_at=report.generated_at,
            html=report.html,
            csv_zip=report.csv_zip,
            notice=report.notice,
        )
        .on_conflict_do_nothing(
            index_elements=[monthly_reports.c.local_authority, monthly_reports.c.month]
        )
    )
    kept = load_report(session, report.local_authority, report.month)
    assert kept is not None  # inserted now, or by whoever got there first
    return kept


def load_report(session: Session, local_authority: str, month: str) -> StoredReport | None:
    row = session.execute(
        select(monthly_reports).where(
            monthly_reports.c.local_authority == local_authority,
            monthly_reports.c.month == month,
        )
    ).first()
    if row is None:
        return None
    return StoredReport(
        row.local_authority, row.month, row.generated_at, row.html, row.csv_zip, row.notice
    )
