"""Monthly reports to each LA's safeguarding partnership, queued on the outbox by serve.

Each pass asks the pure decision (`lifecycle.monthly.due_reports`) what is due
on serve's clock, builds each due LA's month from the store with the report
engine (suppressed: it leaves the force), keeps the rendered HTML and CSV zip in
`monthly_reports`, and queues one notification per partnership channel. The
outbox's (key, channel, address) uniqueness and `monthly_reports`' (LA, month)
key make a restart or a second serve add nothing: each channel is sent each
report once, and every channel and retry sends the same bytes.

A pass that fails for any reason but the store (a bug, bad data) is logged with
its traceback and tried again a minute later: it never stops serve's alerts. An
unusable store stops serve with one line, as it does every other task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter
from sqlalchemy import Engine

from custodywatch.alerting.clock import Clock
from custodywatch.contract.alerts import AlertRecord
from custodywatch.contract.episodes import EpisodeSummary
from custodywatch.contract.notifications import Notification, ReportNotice
from custodywatch.core.clock import from_us, iso, to_us
from custodywatch.core.config import RuleConfig
from custodywatch.lifecycle.monthly import DueReport, Month, due_reports
from custodywatch.lifecycle.routing import Address, Routing
from custodywatch.notify.email import Attachment
from custodywatch.report.engine import build_report
from custodywatch.report.facts import AlertOutcome
from custodywatch.report.figures import headline_figures
from custodywatch.report.model import ReportQuery
from custodywatch.report.render_csv import render_csv_zip
from custodywatch.report.render_html import render_html
from custodywatch.report.store_source import from_store
from custodywatch.store.db import StoreUnavailableError, guarded, sessions, transaction
from custodywatch.store.queries import enqueue
from custodywatch.store.reports import (
    StoredReport,
    first_t0,
    load_report,
    report_deliveries,
    save_report,
)

log = logging.getLogger("custodywatch.serve.reports")

RETRY_AFTER_FAILURE_S = 60.0
StoreFacts = tuple[list[EpisodeSummary], list[AlertRecord], list[AlertOutcome]]
NOTICE: TypeAdapter[ReportNotice] = TypeAdapter(ReportNotice)


def file_names(la: str, month: str) -> tuple[str, str]:
    return f"custodywatch-{la}-{month}.html", f"custodywatch-{la}-{month}-tables.zip"


def _subject(la: str, month: Month) -> str:
    return f"Monthly report: children in police custody, {la}, {month.first_day:%B %Y}"


def _text(due: DueReport, address: Address) -> str:
    m = due.month
    lines = [
        f"The monthly safeguarding report for children whose home local authority is "
        f"{due.local_authority}: the detentions whose T0 (detention authorised) fell in "
        f"{m.first_day:%B %Y}, local time. Small numbers are suppressed: counts of 1 to 4 "
        'show as "<5", and "*" marks a figure withheld so that no total reveals one.',
        "Detentions still in custody when the month ended count as detentions, not in the "
        "mean or the six-hour guideline figures.",
    ]
    if due.data_from is not None:
        lines.append(
            f"The records begin on {due.data_from.day} {due.data_from:%B %Y}: this month's "
            "figures cover only the days from then."
        )
    if address.channel == "email":
        lines.append(
            "The full report is attached (HTML, and its tables as a zip of CSV files). "
            "Its headline figures follow."
        )
    else:
        lines.append("The full report goes by e-mail. Its headline figures follow.")
    return "\n\n".join(lines)


def notifications(due: DueReport, notice: ReportNotice, created_us: int) -> list[Notification]:
    return [
        Notification(
            idempotency_key=due.key,
            kind="report",
            step=0,
            recipient=due.recipient,
            channel=a.channel,
            address=a.address,
            subject=_subject(due.local_authority, due.month),
            text=_text(due, a),
            alerts=(),
            created_at=iso(created_us),
            report=notice,
        )
        for a in due.addresses
    ]


class MonthlyReports:
    def __init__(
        self,
        engine: Engine,
        routing: Routing,
        rules: RuleConfig,
        clock: Clock,
        interval_s: float = 1.0,
    ) -> None:
        self.engine, self.routing, self.rules, self.clock = engine, routing, rules, clock
        self.interval_s = interval_s
        self._sessions = sessions(engine)

    def _render(self, due: DueReport, facts: StoreFacts, now_us: int) -> StoredReport:
        zone = self.rules.time_zones.default
        query = ReportQuery(
            start=due.month.first_day,
            end=due.month.last_day,
            local_authority=due.local_authority,
            suppress=True,
        )
        made = from_us(now_us).astimezone(ZoneInfo(zone))
        summaries, alerts, outcomes = facts
        report = build_report(summaries, alerts, query, self.rules, made, outcomes)
        notice = ReportNotice(
            local_authority=due.local_authority,
            month=str(due.month),
            period_from=query.start.isoformat(),
            period_to=query.end.isoformat(),
            suppressed=True,
            figures=headline_figures(report),
            definitions=report.definitions,
            data_from=None if due.data_from is None else due.data_from.isoformat(),
        )
        return StoredReport(
            due.local_authority,
            str(due.month),
            made,
            render_html(report).encode("utf-8"),
            render_csv_zip(report),
            NOTICE.dump_python(notice, mode="json"),
        )

    def pass_once(self) -> int:
        """Queue every report due now; how many notifications were added."""
        now = self.clock.now_us()
        with transaction(self._sessions) as session:
            first = first_t0(session)
            sent = report_deliveries(session)
        zone = self.rules.time_zones.default
        due = due_reports(now, self.routing, zone, None if first is None else to_us(first), sent)
        facts: dict[Month, StoreFacts] = {}
        queued = 0
        for item in due:
            with transaction(self._sessions) as session:
                stored = load_report(session, item.local_authority, str(item.month))
            if stored is None:
                if item.month not in facts:  # the store is read once per month, for every LA
                    m = item.month
                    facts[m] = from_store(self.engine, m.first_day, m.last_day)
                stored = self._render(item, facts[item.month], now)
            with transaction(self._sessions) as session:
                kept = save_report(session, stored)
                notice = NOTICE.validate_python(kept.notice)
                at = datetime.now(UTC)  # deliver at once, whatever serve's clock says
                added = sum(
                    enqueue(session, n, next_attempt_at=at)
                    for n in notifications(item, notice, now)
                )
            queued += added
            log.info(
                "monthly report queued",
                extra={
                    "local_authority": item.local_authority,
                    "month": str(item.month),
                    "channels": added,
                },
            )
        return queued

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            wait = self.interval_s
            try:
                await asyncio.to_thread(guarded, self.engine, self.pass_once)
            except StoreUnavailableError:
                raise  # the store is gone for every task: serve stops with one line
            except Exception:  # a bug or bad data in one report must never stop the alerts
                log.exception(
                    "monthly reports failed; tried again in %.0f s", RETRY_AFTER_FAILURE_S
                )
                wait = RETRY_AFTER_FAILURE_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)


class StoredReportFiles:
    """The e-mail notifier's `report_files`: a report notification's attachments."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessions(engine)

    async def __call__(self, notification: Notification) -> Sequence[Attachment] | None:
        report = notification.report
        if report is None:
            return None

        def read() -> StoredReport | None:
            with transaction(self._sessions) as session:
                return load_report(session, report.local_authority, report.month)

        stored = await asyncio.to_thread(guarded, self.engine, read)
        if stored is None:
            return None
        html_name, zip_name = file_names(stored.local_authority, stored.month)
        return (
            Attachment(html_name, "text/html", stored.html),
            Attachment(zip_name, "application/zip", stored.csv_zip),
        )
