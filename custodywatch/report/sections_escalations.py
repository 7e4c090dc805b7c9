"""Escalations: the alerts raised for the report's children by rule and stage, per
home local authority and per suite, and (when the source has them) what people
did with them: acknowledged or not, how fast, how far up the ladder they went."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from custodywatch.contract.alerts import AlertRecord
from custodywatch.report.facts import AlertOutcome
from custodywatch.report.model import Cell, Count, Row, Section, Sum, Table
from custodywatch.report.tables import TOTAL, Line, Split, grid, median_minutes

STEP_COLUMNS = ("Step 0 only", "Step 1", "Step 2", "Step 3 or more")


def _by_rule(
    table_id: str, title: str, alerts: Sequence[AlertRecord], columns: Sequence[str], of: str
) -> Table:
    counts: Counter[tuple[str, str]] = Counter()
    for a in alerts:
        column = a.home_local_authority if of == "la" else a.suite_id
        counts[f"{a.rule}/{a.stage}", column] += 1
        counts["all", column] += 1
    keys = sorted({k for k, _ in counts if k != "all"})
    lines = (Line("all", "All alerts"), *(Line(k, k.replace("/", ": "), 1) for k in keys))
    return grid(
        table_id, title, lines, columns, counts, [Split("all", tuple(keys))] if keys else []
    )


def acknowledgement(
    table_id: str,
    title: str,
    alerts: Sequence[AlertRecord],
    outcomes: Mapping[str, AlertOutcome],
    groups: Sequence[str],
    group_of: Callable[[AlertRecord], str],
) -> Table:
    headers: tuple[str, ...] = ("Alerts", "Acknowledged", "Unacknowledged")
    headers += ("Median time to acknowledge", *STEP_COLUMNS)
    rows: list[Row] = []
    for group in (*groups, TOTAL):
        known = [
            outcomes[a.alert_id]
            for a in alerts
            if a.alert_id in outcomes and (group == TOTAL or group_of(a) == group)
        ]
        acked = [
            (o.acknowledged_at - o.raised_at).total_seconds() / 60
            for o in known
            if o.acknowledged_at is not None
        ]
        steps = Counter(min(o.steps_reached, 3) for o in known)
        cells: tuple[Cell, ...] = (
            Count(len(known)),
            Count(len(acked)),
            Count(len(known) - len(acked)),
            median_minutes(acked),
            *(Count(steps[s]) for s in range(4)),
        )
        rows.append(Row(group, group, cells))
    sums = []
    for r in range(len(rows)):
        sums.append(Sum((r, 0), ((r, 1), (r, 2))))
        sums.append(Sum((r, 0), tuple((r, c) for c in range(4, 8))))
    last = len(rows) - 1
    for c in (0, 1, 2, 4, 5, 6, 7):
        sums.append(Sum((last, c), tuple((r, c) for r in range(last))))
    notes = (
        "Alerts with acknowledgement data only. Step 0 is the notice at raise; each step "
        "up the escalation ladder is one more person told.",
        "Time to acknowledge: from raising the alert to its first acknowledgement.",
    )
    return Table(table_id, title, headers, tuple(rows), tuple(sums), notes)


def section(
    alerts: Sequence[AlertRecord],
    outcomes: Mapping[str, AlertOutcome] | None,
    las: Sequence[str],
) -> Section:
    suites = sorted({a.suite_id for a in alerts})
    tables = [
        _by_rule(
            "alerts_by_la", "Alerts by rule and stage, by home local authority", alerts, las, "la"
        ),
        _by_rule("alerts_by_suite", "Alerts by rule and stage, by suite", alerts, suites, "suite"),
    ]
    intro = [
        "Alerts that stand for the report's children (raised, perhaps since resolved; "
        "retracted alerts never should have fired and are left out). The suite is where "
        "the child was when the alert fell due."
    ]
    if outcomes is None:
        intro.append(
            "This source has no acknowledgement or escalation data (replay files carry "
            "none): times to acknowledge and steps reached are not reported."
        )
    else:
        tables.append(
            acknowledgement(
                "acknowledged_by_la",
                "Acknowledgement and escalation, by home local authority",
                alerts,
                outcomes,
                las,
                lambda a: a.home_local_authority,
            )
        )
        tables.append(
            acknowledgement(
                "acknowledged_by_suite",
                "Acknowledgement and escalation, by suite",
                alerts,
                outcomes,
                suites,
                lambda a: a.suite_id,
            )
        )
    return Section("escalations", "Alerts and escalations", tuple(tables), tuple(intro))
