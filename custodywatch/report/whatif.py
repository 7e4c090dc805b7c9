"""What-if over history: the alerts the current rules raised against those other
thresholds would have raised, per home local authority and month, and the headline
a board asks for ("how many children would a four-hour guideline have flagged?").

Pure: two `Run`s (standing alerts and the summaries of their episodes) in,
comparison tables out. Every number is a cell of one table (`detail`), which alone
is suppressed; the tables shown are views of it, so a count is withheld the same way
wherever it appears.

Counting, as in the report: an alert counts with its detention, in the month of its
T0 (local time) and its child's home local authority; retracted alerts do not count.
A child alerted counts once per LA and month, and once in a period's total however
many months they were alerted in (so children do not add up across months).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from custodywatch.contract.alerts import AlertRecord
from custodywatch.contract.episodes import EpisodeSummary
from custodywatch.core.config import RuleConfig
from custodywatch.report.facts import Facts, months_of, select, standing_alerts
from custodywatch.report.model import (
    NOTHING_WITHHELD,
    Change,
    Coord,
    Count,
    ReportQuery,
    Row,
    Sum,
    Table,
    Withheld,
)
from custodywatch.report.suppress import withhold
from custodywatch.report.whatif_settings import Setting, is_governed

ALL = "all"
TOTAL = "total"
COLUMNS = ("Current", "What-if", "Difference")
CHILDREN, ALERTS = "children", "alerts"
CHILDREN_CHANGED, ALERTS_CHANGED = "children_changed", "alerts_changed"


@dataclass(frozen=True, slots=True)
class Run:
    """One replay of the history: its standing alerts, and the summaries of (at least)
    the episodes those alerts belong to."""

    alerts: Sequence[AlertRecord]
    summaries: Sequence[EpisodeSummary]


@dataclass(frozen=True, slots=True)
class WhatIfQuery:
    settings: tuple[Setting, ...]
    current_values: tuple[str, ...]
    """The current rules' value at each setting's key, in the same order."""
    governed: frozenset[str] | None
    """`whatif_settings.governed(settings)`: the alerts the headline counts."""
    start: date | None = None
    end: date | None = None
    """Inclusive; None: from the first / to the last alerted detention of either run."""
    local_authority: str | None = None
    suppress: bool = True


@dataclass(frozen=True, slots=True)
class WhatIf:
    query: WhatIfQuery
    start: date | None
    end: date | None
    """The period (inclusive); None when neither the query nor the data gives one."""
    months: tuple[str, ...]
    las: tuple[str, ...]
    scopes: tuple[str, ...]
    """The LAs, then ALL (unless one LA was asked for)."""
    rule_keys: tuple[str, ...]
    """Every `rule/stage` alerted in either run."""
    detail: Table
    """One row per (scope, month or TOTAL, measure): Current, What-if, Difference."""
    withheld: Withheld = field(default_factory=Withheld)

    def coord(self, scope: str, period: str, measure: str, column: int = 0) -> Coord:
        return (self.detail.row(row_key(scope, period, measure)), column)

    def headline_measures(self) -> tuple[str, str]:
        """(children, alerts) of the changed rules; of every rule when they govern all."""
        if self.query.governed is None:
            return CHILDREN, ALERTS
        return CHILDREN_CHANGED, ALERTS_CHANGED


def row_key(scope: str, period: str, measure: str) -> str:
    return f"{scope}|{period}|{measure}"


def changed_label(governed: frozenset[str] | None) -> str:
    """'detention_duration/breach', or a rule's name for all of its stages."""
    if governed is None:
        return "any rule"
    return ", ".join(sorted(k.rstrip("/") for k in governed))


def measure_label(measure: str, governed: frozenset[str] | None) -> str:
    labels = {
        CHILDREN: "Children alerted (any rule)",
        CHILDREN_CHANGED: f"Children alerted by {changed_label(governed)}",
        ALERTS: "All alerts",
        ALERTS_CHANGED: f"Alerts of {changed_label(governed)}",
    }
    return labels.get(measure, measure.replace("/", ": "))


@dataclass
class _Tally:
    alerts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """(scope, period, measure) -> alerts."""
    children: defaultdict[tuple[str, str, str], set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )


def _episodes(run: Run, query: ReportQuery, zone: ZoneInfo) -> dict[str, Facts]:
    return {f.summary.custody_record_id: f for f in select(run.summaries, query, zone)}


def _tally(run: Run, episodes: dict[str, Facts], q: WhatIfQuery, one_la: bool) -> _Tally:
    # Counted once per (LA, month, rule/stage) and per (LA, month) child, then spread
    # over the scopes and periods: ten months hold tens of thousands of alerts.
    alerts: Counter[tuple[str, str, str]] = Counter()
    children: defaultdict[tuple[str, str, str], set[str]] = defaultdict(set)
    for a in standing_alerts(run.alerts, set(episodes)):
        f = episodes[a.custody_record_id]
        if not f.summary.juvenile:  # alerts are for children only; a summary decides
            continue
        key = f"{a.rule}/{a.stage}"
        la, month, person = f.summary.home_local_authority, f.month, f.summary.person_ref
        alerts[la, month, key] += 1
        children[la, month, CHILDREN].add(person)
        if q.governed is not None and is_governed(key, q.governed):
            children[la, month, CHILDREN_CHANGED].add(person)
    tally = _Tally()
    for (la, month, key), n in alerts.items():
        measures = [ALERTS, key]
        if q.governed is not None and is_governed(key, q.governed):
            measures.append(ALERTS_CHANGED)
        for scope in (la,) if one_la else (la, ALL):
            for period in (month, TOTAL):
                for measure in measures:
                    tally.alerts[scope, period, measure] += n
    for (la, month, measure), people in children.items():
        for scope in (la,) if one_la else (la, ALL):
            for period in (month, TOTAL):
                tally.children[scope, period, measure] |= people
    return tally


def _period(q: WhatIfQuery, facts: Iterable[Facts]) -> tuple[date | None, date | None]:
    days = sorted(f.local_t0.date() for f in facts)
    start = q.start or (days[0] if days else q.end)
    end = q.end or (days[-1] if days else start)
    return start, end


def compare(current: Run, whatif: Run, q: WhatIfQuery, rules: RuleConfig) -> WhatIf:
    """`rules`: the current rules (their time zone makes the months)."""
    zone = ZoneInfo(rules.time_zones.default)
    wide = ReportQuery(start=date.min, end=date.max, local_authority=q.local_authority)
    runs = [_episodes(run, wide, zone) for run in (current, whatif)]
    start, end = _period(q, [f for eps in runs for f in eps.values()])
    first, last = start or date.min, end or date.max
    episodes = [{r: f for r, f in e.items() if first <= f.local_t0.date() <= last} for e in runs]
    one_la = q.local_authority is not None
    pairs = zip((current, whatif), episodes, strict=True)
    tallies = [_tally(run, eps, q, one_la) for run, eps in pairs]
    named = {ALERTS, ALERTS_CHANGED}
    rule_keys = sorted({m for t in tallies for (_, _, m) in t.alerts if m not in named})
    las = sorted({f.summary.home_local_authority for eps in episodes for f in eps.values()})
    if q.local_authority is not None:
        las = [q.local_authority]
    scopes = las if one_la else [*las, ALL]
    months = [] if start is None or end is None else months_of(ReportQuery(start, end))
    detail = _detail(tallies, scopes, months, rule_keys, q.governed)
    withheld = withhold(detail) if q.suppress else NOTHING_WITHHELD
    return WhatIf(
        q, start, end, tuple(months), tuple(las), tuple(scopes), tuple(rule_keys), detail, withheld
    )


def _detail(
    tallies: list[_Tally],
    scopes: Sequence[str],
    months: Sequence[str],
    rule_keys: Sequence[str],
    governed: frozenset[str] | None,
) -> Table:
    named = (
        [CHILDREN, ALERTS]
        if governed is None
        else [CHILDREN, CHILDREN_CHANGED, ALERTS, ALERTS_CHANGED]
    )
    measures = [*named, *rule_keys]
    rows: list[Row] = []
    index: dict[tuple[str, str, str], int] = {}
    for scope in scopes:
        for period in (*months, TOTAL):
            for measure in measures:
                counts = [
                    len(t.children[scope, period, measure])
                    if measure in (CHILDREN, CHILDREN_CHANGED)
                    else t.alerts[scope, period, measure]
                    for t in tallies
                ]
                r = len(rows)
                index[scope, period, measure] = r
                label = f"{scope} {period} {measure_label(measure, governed)}"
                cells = (Count(counts[0]), Count(counts[1]), Change((r, 0), (r, 1)))
                rows.append(Row(row_key(scope, period, measure), label, cells))
    sums: list[Sum] = []

    def add(total: tuple[str, str, str], parts: Iterable[tuple[str, str, str]]) -> None:
        coords = [index[p] for p in parts]
        for c in (0, 1):
            sums.append(Sum((index[total], c), tuple((p, c) for p in coords)))

    alert_measures = [m for m in measures if m not in (CHILDREN, CHILDREN_CHANGED)]
    for scope in scopes:
        for period in (*months, TOTAL):
            add((scope, period, ALERTS), ((scope, period, k) for k in rule_keys))
            if governed is not None:
                changed = [k for k in rule_keys if is_governed(k, governed)]
                add((scope, period, ALERTS_CHANGED), ((scope, period, k) for k in changed))
        for m in alert_measures:
            add((scope, TOTAL, m), ((scope, month, m) for month in months))
    if ALL in scopes:
        for period in (*months, TOTAL):
            for m in alert_measures:
                add((ALL, period, m), ((la, period, m) for la in scopes if la != ALL))
    notes = ("Children do not add up across months: a child counts once in a period's total.",)
    return Table("whatif_detail", "What-if: every count", COLUMNS, tuple(rows), tuple(sums), notes)
