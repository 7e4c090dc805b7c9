"""The report engine: episode summaries, alerts and (optionally) what people did with
the alerts, for one period, in; a `Report` of tables, suppressed or not, out.

Every source (replay files, an events file, the store) feeds the same function,
so the same episodes give the same numbers whatever they came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from custodywatch.contract.alerts import AlertRecord
from custodywatch.contract.episodes import EpisodeSummary
from custodywatch.core.config import RuleConfig
from custodywatch.report import (
    sections_children,
    sections_duration,
    sections_escalations,
    sections_funnel,
    sections_people,
)
from custodywatch.report.definitions import definitions
from custodywatch.report.facts import AlertOutcome, months_of, select, standing_alerts
from custodywatch.report.model import Report, ReportQuery
from custodywatch.report.suppress import withhold


def title_of(query: ReportQuery) -> str:
    scope = []
    if query.local_authority is not None:
        scope.append(f"home local authority {query.local_authority}")
    if query.suite is not None:
        scope.append(f"suite {query.suite}")
    where = f" ({', '.join(scope)})" if scope else ""
    return f"Children in police custody, {query.start.day} {query.start:%B %Y} to {query.end.day} {query.end:%B %Y}{where}"


def build_report(
    summaries: Iterable[EpisodeSummary],
    alerts: Iterable[AlertRecord],
    query: ReportQuery,
    rules: RuleConfig,
    generated_at: datetime,
    outcomes: Iterable[AlertOutcome] | None = None,
) -> Report:
    """`outcomes`: acknowledgement facts by alert (from the store); None when the
    source has none, and the report says so."""
    zone = ZoneInfo(rules.time_zones.default)
    episodes = select(summaries, query, zone)
    children = [f for f in episodes if f.summary.juvenile]
    months = months_of(query)
    las = sorted({f.summary.home_local_authority for f in children})
    standing = standing_alerts(alerts, {f.summary.custody_record_id for f in children})
    by_alert = None if outcomes is None else {o.alert_id: o for o in outcomes}
    sections = (
        sections_duration.section(episodes, months, rules, frozenset(query.childrens_suites)),
        sections_children.section(children, rules, query.childrens_suites),
        sections_funnel.section(children, las, rules),
        sections_escalations.section(standing, by_alert, las),
        sections_people.section(children, query.longest),
    )
    report = Report(
        title_of(query),
        query,
        rules.time_zones.default,
        generated_at,
        definitions(query, rules),
        sections,
    )
    if not query.suppress:
        return report
    withheld = {t.id: withhold(t) for t in report.tables()}
    return Report(
        report.title,
        query,
        report.zone,
        generated_at,
        report.definitions,
        sections,
        withheld,
    )
