"""Prometheus adapter for the `Observer` port (the `/metrics` endpoint: `metrics_http`).

`PrometheusObserver` registers every series on the `CollectorRegistry` it is
given, never on prometheus_client's global default registry, so each worker (and
each test) owns its own. Series, all prefixed `custodywatch_`:

| series | type | labels |
|---|---|---|
| `custodywatch_events_processed_total` | counter | `event_type` |
| `custodywatch_duplicates_ignored_total` | counter | — |
| `custodywatch_events_rejected_total` | counter | `reason` (dead-letter reason code) |
| `custodywatch_alerts_raised_total` | counter | `rule`, `stage`, `severity` |
| `custodywatch_alerts_settled_total` | counter | `rule`, `stage`, `state` (`resolved`, `retracted`) |
| `custodywatch_juveniles_detained` | gauge | `suite` |
| `custodywatch_open_episodes` | gauge | — |
| `custodywatch_open_deadlines` | gauge | — |
| `custodywatch_alert_latency_seconds` | histogram | — |
| `custodywatch_consumer_lag` | gauge | `partition` (messages behind the high watermark) |
| `custodywatch_partition_restore_seconds` | histogram | — (time to rebuild a partition from its changelog) |
| `custodywatch_escalation_steps_total` | counter | `severity`, `step` (serve) |
| `custodywatch_escalation_lateness_seconds` | histogram | — (step taken minus step due) |
| `custodywatch_time_to_acknowledge_seconds` | histogram | `severity` |
| `custodywatch_alerts_open` | gauge | `severity` (raised, not resolved or retracted) |
| `custodywatch_alerts_unacknowledged` | gauge | `severity` |
| `custodywatch_alerts_unacknowledged_past_ladder` | gauge | `severity` (the ladder's last step taken, nobody has acknowledged) |
| `custodywatch_notifications_delivered_total` | counter | `channel`, `kind` |
| `custodywatch_notification_attempts_failed_total` | counter | `channel`, `reason` (failure class) |
| `custodywatch_notifications_given_up_total` | counter | `channel` |
| `custodywatch_notification_attempt_seconds` | histogram | `channel` |

No personal data in labels. Label values are only event types, reject reason
codes, rule/stage/severity ids, custody suite ids, partition numbers, notification
channels, kinds and failure classes: never a recipient or address, never a
`person_ref`, name, date of birth, custody record id, alert id or anything else
that identifies a child, and never a free-text message. Keep it that way: a
metrics endpoint is scraped, stored and shown far more widely than the alert
stream, and every new label value is also a new series.

Every known event type, reject reason and (rule, stage, severity) of the
welfare-rules table starts at 0, so that `increase()` and `rate()` in
`alerts/prometheus-rules.yml` count the first occurrence after a restart (a
series born at 1 has no earlier sample to increase from). That file alerts on
these series: rename one and update it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from custodywatch.contract.events import EVENT_TYPES
from custodywatch.contract.notifications import NotificationKind
from custodywatch.contract.rejects import RejectReason
from custodywatch.notify.delivery import CHANNELS, FAILURE_REASONS

__all__ = [
    "ALERT_SERIES",
    "LATENCY_BUCKETS_S",
    "NOTIFY_BUCKETS_S",
    "PrometheusObserver",
]

PREFIX = "custodywatch"

LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.01,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
"""Fine below the 1 s p99 target, coarse above it to show long tails (restarts, lag)."""

ALERT_SERIES: tuple[tuple[str, str, str], ...] = (
    ("under_ten", "detained", "critical"),
    ("detention_duration", "approaching", "warning"),
    ("detention_duration", "breach", "critical"),
    ("detention_duration", "prolonged", "critical"),
    ("overnight_hold", "at_risk", "warning"),
    ("overnight_hold", "overnight", "critical"),
    ("appropriate_adult", "not_requested", "warning"),
    ("appropriate_adult", "not_arrived", "warning"),
    ("review_overdue", "overdue", "warning"),
    ("detention_limit", "approaching", "warning"),
    ("detention_limit", "limit", "critical"),
    ("la_request_missing", "missing", "critical"),
    ("la_request_missing", "escalated", "critical"),
    ("la_response_overdue", "overdue", "warning"),
    ("la_refused", "refused", "critical"),
    ("transfer_overdue", "overdue", "critical"),
)
"""(rule, stage, severity) of the welfare-rules table, pre-set to 0 on start."""

NOTIFY_BUCKETS_S: tuple[float, ...] = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""One delivery attempt: milliseconds for Kafka, up to the 10 s webhook timeout and beyond."""


class PrometheusObserver:
    """Implements `custodywatch.observer.Observer` with prometheus_client series.

    Labels carry event types, reason codes, rule ids, suite ids and partitions
    only: never personal data (see the module docstring).
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._events_processed = Counter(
            "events_processed",
            "Valid custody events applied to episode state (duplicates excluded).",
            ["event_type"],
            namespace=PREFIX,
            registry=registry,
        )
        # Labelled children of the per-event and per-alert series, by label values:
        # .labels() costs about 5 us, and these run for every event and alert.
        self._children: dict[tuple[object, tuple[str, ...]], Any] = {}
        self._lag_partitions: set[int] = set()
        self._duplicates = Counter(
            "duplicates_ignored",
            "Redelivered or repeated events recognised and ignored.",
            namespace=PREFIX,
            registry=registry,
        )
        self._events_rejected = Counter(
            "events_rejected",
            "Messages sent to the dead-letter topic, by reject reason code.",
            ["reason"],
            namespace=PREFIX,
            registry=registry,
        )
        self._alerts_raised = Counter(
            "alerts_raised",
            "Welfare alerts raised, by rule, stage and severity.",
            ["rule", "stage", "severity"],
            namespace=PREFIX,
            registry=registry,
        )
        self._alerts_settled = Counter(
            "alerts_settled",
            "Raised welfare alerts later resolved or retracted, by rule, stage and state.",
            ["rule", "stage", "state"],
            namespace=PREFIX,
            registry=registry,
        )
        self._juveniles = Gauge(
            "juveniles_detained",
            "Children currently in police detention, by custody suite.",
            ["suite"],
            namespace=PREFIX,
            registry=registry,
        )
        self._open_episodes = Gauge(
            "open_episodes",
            "Custody episodes currently held in worker state (children and adults).",
            namespace=PREFIX,
            registry=registry,
        )
        self._open_deadlines = Gauge(
            "open_deadlines",
            "Welfare deadlines armed and not yet fired or cancelled.",
            namespace=PREFIX,
            registry=registry,
        )
        self._alert_latency = Histogram(
            "alert_latency_seconds",
            "Time from an alert's due time to its raise time (target: p99 under 1 s).",
            namespace=PREFIX,
            registry=registry,
            buckets=LATENCY_BUCKETS_S,
        )
        self._consumer_lag = Gauge(
            "consumer_lag",
            "Messages between the consumer position and the high watermark, by partition.",
            ["partition"],
            namespace=PREFIX,
            registry=registry,
        )
        self._serve = _ServeSeries(registry)
        self._restore = Histogram(
            "partition_restore_seconds",
            "Time to rebuild a claimed partition's engine from its changelog.",
            namespace=PREFIX,
            registry=registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )
        self._delivered = Counter(
            "notifications_delivered",
            "Notifications delivered to their receivers, by channel and kind.",
            ["channel", "kind"],
            namespace=PREFIX,
            registry=registry,
        )
        self._attempts_failed = Counter(
            "notification_attempts_failed",
            "Delivery attempts that failed, by channel and failure class (retried or not).",
            ["channel", "reason"],
            namespace=PREFIX,
            registry=registry,
        )
        self._given_up = Counter(
            "notifications_given_up",
            "Notifications that failed for good: permanent failure or 24 h of retries spent.",
            ["channel"],
            namespace=PREFIX,
            registry=registry,
        )
        self._attempt_seconds = Histogram(
            "notification_attempt_seconds",
            "Time one delivery attempt took, by channel, whatever its result.",
            ["channel"],
            namespace=PREFIX,
            registry=registry,
            buckets=NOTIFY_BUCKETS_S,
        )
        self._suites_seen: set[str] = set()
        self._lock = threading.Lock()
        for channel in CHANNELS:
            self._given_up.labels(channel=channel)
            self._attempt_seconds.labels(channel=channel)
            for kind in get_args(NotificationKind):
                self._delivered.labels(channel=channel, kind=kind)
            for failure in FAILURE_REASONS:
                self._attempts_failed.labels(channel=channel, reason=failure)
        for event_type in sorted(EVENT_TYPES):
            self._events_processed.labels(event_type=event_type)
        for reason in RejectReason:
            self._events_rejected.labels(reason=reason.value)
        for rule, stage, severity in ALERT_SERIES:
            self._alerts_raised.labels(rule=rule, stage=stage, severity=severity)
            for state in ("resolved", "retracted"):
                self._alerts_settled.labels(rule=rule, stage=stage, state=state)

    def event_processed(self, event_type: str, count: int = 1) -> None:
        self._child(self._events_processed, event_type).inc(count)

    def duplicate_ignored(self) -> None:
        self._duplicates.inc()

    def event_rejected(self, reason: str) -> None:
        self._events_rejected.labels(reason=reason).inc()

    def alert_raised(self, rule: str, stage: str, severity: str, latency_s: float) -> None:
        self._child(self._alerts_raised, rule, stage, severity).inc()
        # A raise a little before its due time (clock skew between hosts) counts as on time.
        self._alert_latency.observe(max(latency_s, 0.0))

    def alert_settled(self, rule: str, stage: str, state: str) -> None:
        self._child(self._alerts_settled, rule, stage, state).inc()

    def _child(self, series: Any, *labels: str) -> Any:
        """`series.labels(*labels)`, made once per label values."""
        key = (series, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = series.labels(*labels)
        return child

    def set_state(
        self, juveniles_by_suite: Mapping[str, int], open_episodes: int, open_deadlines: int
    ) -> None:
        with self._lock:
            for suite in self._suites_seen - juveniles_by_suite.keys():
                # A suite whose last child left reads 0, not its last non-zero count.
                self._juveniles.labels(suite=suite).set(0)
            for suite, count in juveniles_by_suite.items():
                self._juveniles.labels(suite=suite).set(count)
            self._suites_seen.update(juveniles_by_suite)
        self._open_episodes.set(open_episodes)
        self._open_deadlines.set(open_deadlines)

    def set_consumer_lag(self, lags: Mapping[int, int]) -> None:
        # A partition this worker no longer owns is removed, not left at its last value.
        for partition in self._lag_partitions - set(lags):
            self._consumer_lag.remove(str(partition))
        for partition, lag in lags.items():
            self._consumer_lag.labels(partition=str(partition)).set(lag)
        self._lag_partitions = set(lags)

    def partition_restored(self, seconds: float) -> None:
        self._restore.observe(seconds)

    def notification_delivered(self, channel: str, kind: str) -> None:
        self._delivered.labels(channel=channel, kind=kind).inc()

    def delivery_failed(self, channel: str, reason: str) -> None:
        self._attempts_failed.labels(channel=channel, reason=reason).inc()

    def notification_given_up(self, channel: str) -> None:
        self._given_up.labels(channel=channel).inc()

    def delivery_attempted(self, channel: str, duration_s: float) -> None:
        self._attempt_seconds.labels(channel=channel).observe(max(duration_s, 0.0))

    def escalation_step(self, severity: str, step: int, lateness_s: float) -> None:
        self._serve.steps.labels(severity=severity, step=str(step)).inc()
        self._serve.lateness.observe(lateness_s)

    def alert_acknowledged(self, severity: str, seconds_to_ack: float) -> None:
        self._serve.to_ack.labels(severity=severity).observe(max(seconds_to_ack, 0.0))

    def set_alert_states(
        self,
        open_alerts: Mapping[str, int],
        unacknowledged: Mapping[str, int],
        past_ladder: Mapping[str, int],
    ) -> None:
        for gauge, values in (
            (self._serve.open, open_alerts),
            (self._serve.unacked, unacknowledged),
            (self._serve.past_ladder, past_ladder),
        ):
            for severity in SEVERITIES:
                gauge.labels(severity=severity).set(values.get(severity, 0))


SEVERITIES = ("warning", "critical")


class _ServeSeries:
    """What `serve` reports: the escalation ladder and who is waiting."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def gauge(name: str, doc: str) -> Gauge:
            return Gauge(name, doc, ["severity"], namespace=PREFIX, registry=registry)

        self.steps = Counter(
            "escalation_steps",
            "Escalation steps taken by serve, by severity and step (0 = at raise).",
            ["severity", "step"],
            namespace=PREFIX,
            registry=registry,
        )
        self.lateness = Histogram(
            "escalation_lateness_seconds",
            "Time from an escalation step's due time to the step being taken.",
            namespace=PREFIX,
            registry=registry,
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
        )
        self.to_ack = Histogram(
            "time_to_acknowledge_seconds",
            "Time from an alert's raise to its acknowledgement, by severity.",
            ["severity"],
            namespace=PREFIX,
            registry=registry,
            buckets=(60, 300, 900, 1800, 2700, 3600, 7200, 14400),
        )
        self.open = gauge("alerts_open", "Alerts raised and not resolved or retracted.")
        self.unacked = gauge("alerts_unacknowledged", "Open alerts nobody has acknowledged.")
        self.past_ladder = gauge(
            "alerts_unacknowledged_past_ladder",
            "Open, unacknowledged alerts whose escalation ladder has reached its last step.",
        )
        for severity in SEVERITIES:
            for series in (self.to_ack, self.open, self.unacked, self.past_ladder):
                series.labels(severity=severity)
