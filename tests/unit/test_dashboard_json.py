"""dashboards/custodywatch.json: well formed, every query on a series the worker or serve
exports, and every panel's unit and legend agree with its query.

tests/integration/test_dashboard.py runs every query against a real Prometheus.
"""

from __future__ import annotations

import re

from panels import dashboard, panels, targets
from prometheus_client import CollectorRegistry, ProcessCollector

from custodywatch.metrics import PrometheusObserver

GRID_WIDTH = 24


def test_dashboard_identity_and_schema() -> None:
    doc = dashboard()
    assert doc["uid"] == "custodywatch"
    assert doc["schemaVersion"] == 42  # the classic JSON model of Grafana 12 and 13
    assert doc["title"]
    ids = [panel["id"] for panel in doc["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"


def test_panels_fit_the_grid_without_overlapping() -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard()["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= GRID_WIDTH, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_every_panel_explains_itself_and_has_queries() -> None:
    for panel in panels():
        assert panel["description"], panel["title"]
        assert panel["targets"], panel["title"]
        assert panel["fieldConfig"]["defaults"].get("unit"), f"{panel['title']}: no unit"


def _expected_unit(expr: str) -> str:
    """The unit a query's values are in, read from the query itself."""
    if expr.rstrip().endswith("* 3600"):
        return "suffix: /h"  # a per-second rate scaled to an hour
    if "_seconds" in expr and ("histogram_quantile" in expr or "_sum" in expr):
        return "s"
    if re.search(r"\brate\(", expr):
        return "suffix: /s"
    return "none"  # counts: children, deadlines, events behind, alerts, restarts


def test_units_match_the_queries() -> None:
    for target in targets():
        assert target.unit == _expected_unit(target.expr), (target.panel, target.expr)


def test_every_query_has_a_legend_naming_what_it_groups_by() -> None:
    for target in targets():
        assert target.legend.strip(), f"{target.panel}: no legendFormat for {target.expr}"
        assert target.by_labels <= target.placeholders, (target.panel, target.legend)
        if target.by_labels:
            assert target.placeholders <= target.by_labels, (target.panel, target.legend)
        elif re.match(r"\s*(sum|max|min|avg|count|histogram_quantile)\b", target.expr):
            # Aggregated to a single series: a fixed name, no label to fill in.
            assert target.placeholders == set(), (target.panel, target.legend)


def test_queries_use_only_series_the_worker_or_serve_exports() -> None:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)  # as bootstrap.run_worker and run_serve register it
    observer = PrometheusObserver(registry)
    observer.set_state({"perry-barr": 1}, open_episodes=1, open_deadlines=1)
    observer.set_consumer_lag({0: 0})
    observer.escalation_step("critical", 1, 0.2)  # serve: born at its first step
    exported = {sample.name for metric in registry.collect() for sample in metric.samples}
    exported.add("up")  # written by Prometheus for every target it scrapes
    for target in targets():
        names = set(re.findall(r"\b((?:custodywatch|process)_[a-z_]+|up)\b", target.expr))
        assert names, target.expr
        assert names <= exported, (target.panel, names - exported)


def test_the_questions_an_operator_asks_are_all_on_it() -> None:
    exprs = " ".join(target.expr for target in targets())
    for series in (
        "up",
        "process_start_time_seconds",
        "custodywatch_juveniles_detained",
        "custodywatch_alerts_raised_total",
        "custodywatch_alerts_settled_total",
        "custodywatch_open_deadlines",
        "custodywatch_alert_latency_seconds_bucket",
        "custodywatch_consumer_lag",
        "custodywatch_events_rejected_total",
        "custodywatch_notifications_delivered_total",
        "custodywatch_notification_attempts_failed_total",
        "custodywatch_notifications_given_up_total",
        "custodywatch_partition_restore_seconds_count",
        "custodywatch_alerts_open",
        "custodywatch_alerts_unacknowledged",
        "custodywatch_alerts_unacknowledged_past_ladder",
        "custodywatch_time_to_acknowledge_seconds_bucket",
        "custodywatch_escalation_steps_total",
        "custodywatch_escalation_lateness_seconds_bucket",
    ):
        assert re.search(rf"\b{series}\b", exprs), series
    assert 'up{job="custodywatch-serve"}' in exprs


STORE_GAUGES = re.compile(r"\b(custodywatch_alerts_(?:open|unacknowledged\w*))\b")


def test_alert_state_gauges_are_serves_and_never_summed_over_instances() -> None:
    # Every serve instance counts the whole store: two instances summed would show
    # twice the children waiting. The worker exports the same gauges at 0.
    for target in targets():
        if STORE_GAUGES.search(target.expr):
            assert target.expr.startswith("max by (severity) ("), (target.panel, target.expr)
            assert 'job="custodywatch-serve"' in target.expr, (target.panel, target.expr)


def test_serve_only_series_are_read_from_serve() -> None:
    for target in targets():
        if re.search(r"custodywatch_(escalation|time_to_acknowledge)_", target.expr):
            assert 'job="custodywatch-serve"' in target.expr, (target.panel, target.expr)


def test_past_the_ladder_is_red_from_one() -> None:
    panel = next(p for p in panels() if "past the ladder" in p["title"].lower())
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps == [{"color": "green", "value": None}, {"color": "red", "value": 1}]


def test_the_top_rows_answer_is_it_working_and_is_anyone_waiting() -> None:
    rows = [p for p in dashboard()["panels"] if p["type"] == "row"]
    assert [r["title"] for r in rows[:2]] == ["Is it working?", "Is anyone waiting?"]
    first_screen = {p["title"] for p in panels() if p["gridPos"]["y"] < rows[2]["gridPos"]["y"]}
    for title in (
        "Worker up",
        "Serve up",
        "Open welfare alerts",
        "Unacknowledged alerts",
        "Unacknowledged past the ladder's last step",
        "Children in custody now",
    ):
        assert title in first_screen, title
