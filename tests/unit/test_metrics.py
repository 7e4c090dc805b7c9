"""PrometheusObserver: exact series on an injected registry, and the /metrics endpoint."""

from __future__ import annotations

import urllib.request
from typing import get_args

import pytest
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from custodywatch.contract.alerts import Severity
from custodywatch.contract.events import EVENT_TYPES
from custodywatch.contract.notifications import NotificationKind
from custodywatch.contract.rejects import RejectReason
from custodywatch.metrics import ALERT_SERIES, LATENCY_BUCKETS_S, PrometheusObserver
from custodywatch.metrics_http import serve_metrics
from custodywatch.notify.delivery import CHANNELS, FAILURE_REASONS
from custodywatch.observer import Observer

ALL_SERIES = (
    "custodywatch_events_processed_total",
    "custodywatch_duplicates_ignored_total",
    "custodywatch_events_rejected_total",
    "custodywatch_alerts_raised_total",
    "custodywatch_alerts_settled_total",
    "custodywatch_juveniles_detained",
    "custodywatch_open_episodes",
    "custodywatch_open_deadlines",
    "custodywatch_alert_latency_seconds_bucket",
    "custodywatch_consumer_lag",
    "custodywatch_notifications_delivered_total",
    "custodywatch_notification_attempts_failed_total",
    "custodywatch_notifications_given_up_total",
    "custodywatch_notification_attempt_seconds_bucket",
)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def observer(registry: CollectorRegistry) -> PrometheusObserver:
    return PrometheusObserver(registry)


def test_it_is_an_observer(observer: PrometheusObserver) -> None:
    port: Observer = observer  # mypy checks the protocol; this checks it runs
    port.duplicate_ignored()


def test_nothing_lands_on_the_global_registry(registry: CollectorRegistry) -> None:
    PrometheusObserver(registry)
    PrometheusObserver(CollectorRegistry())  # a second one does not clash either
    assert REGISTRY.get_sample_value("custodywatch_open_episodes") is None
    assert registry.get_sample_value("custodywatch_open_episodes") == 0.0


def test_known_label_sets_start_at_zero(registry: CollectorRegistry) -> None:
    """So increase() counts the first event, reject or alert after a restart."""
    PrometheusObserver(registry)
    for event_type in EVENT_TYPES:
        labels = {"event_type": event_type}
        assert registry.get_sample_value("custodywatch_events_processed_total", labels) == 0.0
    for reason in RejectReason:
        labels = {"reason": reason.value}
        assert registry.get_sample_value("custodywatch_events_rejected_total", labels) == 0.0
    for rule, stage, severity in ALERT_SERIES:
        labels = {"rule": rule, "stage": stage, "severity": severity}
        assert registry.get_sample_value("custodywatch_alerts_raised_total", labels) == 0.0
    rules = {rule for rule, _, _ in ALERT_SERIES}
    assert rules == {
        "under_ten",
        "detention_duration",
        "overnight_hold",
        "appropriate_adult",
        "review_overdue",
        "detention_limit",
        "la_request_missing",
        "la_response_overdue",
        "la_refused",
        "transfer_overdue",
    }
    assert {severity for _, _, severity in ALERT_SERIES} == set(get_args(Severity))


def test_events_processed_by_type(
    registry: CollectorRegistry, observer: PrometheusObserver
) -> None:
    observer.event_processed("detention_authorised")
    observer.event_processed("detention_authorised")
    observer.event_processed("released")
    observer.event_processed("released", 4)  # the worker counts a batch's events at once
    name = "custodywatch_events_processed_total"
    assert registry.get_sample_value(name, {"event_type": "detention_authorised"}) == 2.0
    assert registry.get_sample_value(name, {"event_type": "released"}) == 5.0
    assert registry.get_sample_value(name, {"event_type": "charged"}) == 0.0  # pre-set
    assert registry.get_sample_value(name, {"event_type": "no_such_event"}) is None


def test_duplicates(registry: CollectorRegistry, observer: PrometheusObserver) -> None:
    assert registry.get_sample_value("custodywatch_duplicates_ignored_total") == 0.0
    observer.duplicate_ignored()
    observer.duplicate_ignored()
    observer.duplicate_ignored()
    assert registry.get_sample_value("custodywatch_duplicates_ignored_total") == 3.0


def test_rejects_by_reason(registry: CollectorRegistry, observer: PrometheusObserver) -> None:
    observer.event_rejected("invalid_json")
    observer.event_rejected("orphan_event")
    observer.event_rejected("invalid_json")
    name = "custodywatch_events_rejected_total"
    assert registry.get_sample_value(name, {"reason": "invalid_json"}) == 2.0
    assert registry.get_sample_value(name, {"reason": "orphan_event"}) == 1.0


def test_alerts_by_rule_stage_severity_and_latency(
    registry: CollectorRegistry, observer: PrometheusObserver
) -> None:
    observer.alert_raised("detention_duration", "breach", "critical", 0.03)
    observer.alert_raised("detention_duration", "breach", "critical", 0.7)
    observer.alert_raised("appropriate_adult", "not_requested", "warning", 45.0)
    observer.alert_raised("under_ten", "detained", "critical", -0.2)  # raised early: clamped

    alerts = "custodywatch_alerts_raised_total"
    breach = {"rule": "detention_duration", "stage": "breach", "severity": "critical"}
    assert registry.get_sample_value(alerts, breach) == 2.0
    adult = {"rule": "appropriate_adult", "stage": "not_requested", "severity": "warning"}
    assert registry.get_sample_value(alerts, adult) == 1.0
    under_ten = {"rule": "under_ten", "stage": "detained", "severity": "critical"}
    assert registry.get_sample_value(alerts, under_ten) == 1.0

    latency = "custodywatch_alert_latency_seconds"
    assert registry.get_sample_value(f"{latency}_count") == 4.0
    assert registry.get_sample_value(f"{latency}_sum") == pytest.approx(45.73)

    def bucket(le: str) -> float | None:
        return registry.get_sample_value(f"{latency}_bucket", {"le": le})

    assert bucket("0.01") == 1.0  # the clamped 0
    assert bucket("0.05") == 2.0
    assert bucket("0.5") == 2.0
    assert bucket("1.0") == 3.0
    assert bucket("30.0") == 3.0
    assert bucket("60.0") == 4.0
    assert bucket("+Inf") == 4.0


def test_latency_buckets_straddle_the_one_second_target(registry: CollectorRegistry) -> None:
    PrometheusObserver(registry)
    assert 1.0 in LATENCY_BUCKETS_S
    assert tuple(sorted(LATENCY_BUCKETS_S)) == LATENCY_BUCKETS_S
    assert max(LATENCY_BUCKETS_S) >= 300
    les = {
        s.labels["le"]
        for m in registry.collect()
        for s in m.samples
        if s.name == "custodywatch_alert_latency_seconds_bucket"
    }
    assert les == {str(b) for b in LATENCY_BUCKETS_S} | {"+Inf"}


def test_state_gauges(registry: CollectorRegistry, observer: PrometheusObserver) -> None:
    observer.set_state({"perry-barr": 3, "oldbury": 1}, open_episodes=12, open_deadlines=40)
    name = "custodywatch_juveniles_detained"
    assert registry.get_sample_value(name, {"suite": "perry-barr"}) == 3.0
    assert registry.get_sample_value(name, {"suite": "oldbury"}) == 1.0
    assert registry.get_sample_value("custodywatch_open_episodes") == 12.0
    assert registry.get_sample_value("custodywatch_open_deadlines") == 40.0

    observer.set_state({"perry-barr": 2, "oldbury": 1}, open_episodes=11, open_deadlines=37)
    assert registry.get_sample_value(name, {"suite": "perry-barr"}) == 2.0
    assert registry.get_sample_value("custodywatch_open_episodes") == 11.0
    assert registry.get_sample_value("custodywatch_open_deadlines") == 37.0


def test_a_suite_that_empties_reads_zero_not_stale(
    registry: CollectorRegistry, observer: PrometheusObserver
) -> None:
    name = "custodywatch_juveniles_detained"
    observer.set_state({"perry-barr": 2, "oldbury": 1}, open_episodes=3, open_deadlines=5)
    observer.set_state({"perry-barr": 2}, open_episodes=2, open_deadlines=3)
    assert registry.get_sample_value(name, {"suite": "oldbury"}) == 0.0
    assert registry.get_sample_value(name, {"suite": "perry-barr"}) == 2.0

    observer.set_state({}, open_episodes=0, open_deadlines=0)
    assert registry.get_sample_value(name, {"suite": "oldbury"}) == 0.0
    assert registry.get_sample_value(name, {"suite": "perry-barr"}) == 0.0

    observer.set_state({"oldbury": 4}, open_episodes=4, open_deadlines=9)
    assert registry.get_sample_value(name, {"suite": "oldbury"}) == 4.0
    assert registry.get_sample_value(name, {"suite": "perry-barr"}) == 0.0


def test_consumer_lag_by_partition(
    registry: CollectorRegistry, observer: PrometheusObserver
) -> None:
    observer.set_consumer_lag({0: 17, 3: 0})
    observer.set_consumer_lag({0: 5, 3: 0})
    name = "custodywatch_consumer_lag"
    assert registry.get_sample_value(name, {"partition": "0"}) == 5.0
    assert registry.get_sample_value(name, {"partition": "3"}) == 0.0
    observer.set_consumer_lag({3: 2})  # partition 0 moved to another worker
    assert registry.get_sample_value(name, {"partition": "0"}) is None
    assert registry.get_sample_value(name, {"partition": "3"}) == 2.0


def test_labels_are_only_the_documented_ones(
    registry: CollectorRegistry, observer: PrometheusObserver
) -> None:
    observer.event_processed("released")
    observer.event_rejected("orphan_event")
    observer.alert_raised("la_refused", "refused", "critical", 0.1)
    observer.alert_settled("la_refused", "refused", "resolved")
    observer.set_state({"perry-barr": 1}, open_episodes=1, open_deadlines=1)
    observer.set_consumer_lag({1: 2})
    observer.notification_delivered("email", "raised")
    observer.delivery_failed("webhook", "timeout")
    observer.notification_given_up("webhook")
    observer.delivery_attempted("kafka", 0.02)
    allowed = {
        *("event_type", "reason", "rule", "stage", "severity", "state", "suite", "partition"),
        "le",
    }
    allowed |= {"channel", "kind"}
    names = set()
    for metric in registry.collect():
        assert metric.name.startswith("custodywatch_")
        for sample in metric.samples:
            names.add(sample.name)
            assert set(sample.labels) <= allowed, sample
    assert set(ALL_SERIES) <= names


def test_serves_metrics_over_http(
    registry: CollectorRegistry, observer: PrometheusObserver
) -> None:
    observer.event_processed("detention_authorised")
    observer.duplicate_ignored()
    observer.event_rejected("invalid_json")
    observer.alert_raised("detention_duration", "breach", "critical", 0.2)
    observer.set_state({"perry-barr": 1}, open_episodes=1, open_deadlines=4)
    observer.set_consumer_lag({0: 3})
    server = serve_metrics(registry, "127.0.0.1", 0)
    try:
        assert server.port > 0
        url = f"http://127.0.0.1:{server.port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            body = response.read().decode()
    finally:
        server.shutdown()
    for series in ALL_SERIES:
        assert f"\n{series}" in body, series
    assert "# TYPE custodywatch_alert_latency_seconds histogram" in body
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }
    assert samples[("custodywatch_juveniles_detained", (("suite", "perry-barr"),))] == 1.0
    assert samples[("custodywatch_consumer_lag", (("partition", "0"),))] == 3.0
    assert samples[("custodywatch_events_rejected_total", (("reason", "invalid_json"),))] == 1.0
    breach = (("rule", "detention_duration"), ("severity", "critical"), ("stage", "breach"))
    assert samples[("custodywatch_alerts_raised_total", breach)] == 1.0
    # only the injected registry is served, not the process-wide default
    assert "python_gc_objects_collected_total" not in body


def test_shutdown_releases_the_port_and_is_idempotent(registry: CollectorRegistry) -> None:
    with serve_metrics(registry, "127.0.0.1", 0) as server:
        port = server.port
    server.shutdown()  # second call is a no-op
    assert not server.thread.is_alive()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_notification_series(registry: CollectorRegistry, observer: PrometheusObserver) -> None:
    """Every channel, kind and failure class starts at 0, so the alert rules see the first one."""
    delivered = "custodywatch_notifications_delivered_total"
    failed = "custodywatch_notification_attempts_failed_total"
    given_up = "custodywatch_notifications_given_up_total"
    for channel in CHANNELS:
        assert registry.get_sample_value(given_up, {"channel": channel}) == 0.0
        for kind in get_args(NotificationKind):
            labels = {"channel": channel, "kind": kind}
            assert registry.get_sample_value(delivered, labels) == 0.0
        for reason in FAILURE_REASONS:
            labels = {"channel": channel, "reason": reason}
            assert registry.get_sample_value(failed, labels) == 0.0
    observer.notification_delivered("email", "escalated")
    observer.notification_delivered("email", "escalated")
    observer.delivery_failed("webhook", "server_error")
    observer.notification_given_up("kafka")
    observer.delivery_attempted("webhook", 0.3)
    observer.delivery_attempted("webhook", 12.0)
    assert registry.get_sample_value(delivered, {"channel": "email", "kind": "escalated"}) == 2
    labels = {"channel": "webhook", "reason": "server_error"}
    assert registry.get_sample_value(failed, labels) == 1
    assert registry.get_sample_value(given_up, {"channel": "kafka"}) == 1
    seconds = "custodywatch_notification_attempt_seconds"
    webhook = {"channel": "webhook"}
    assert registry.get_sample_value(f"{seconds}_count", webhook) == 2
    assert registry.get_sample_value(f"{seconds}_bucket", {**webhook, "le": "0.5"}) == 1
    assert registry.get_sample_value(f"{seconds}_bucket", {**webhook, "le": "30.0"}) == 2
