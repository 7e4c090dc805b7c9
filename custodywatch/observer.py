"""What the running service reports, as a port: metrics adapters implement it.

The worker calls these; `custodywatch.metrics.PrometheusObserver` turns them
into Prometheus series; tests can pass a recording fake. Labels carry suites,
rules and reason codes only: never a person_ref or any other personal data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class Observer(Protocol):
    def event_processed(self, event_type: str, count: int = 1) -> None:
        """`count` valid events of this type were applied (duplicates excluded)."""

    def duplicate_ignored(self) -> None: ...

    def event_rejected(self, reason: str) -> None:
        """A message went to the dead-letter topic with this reason code."""

    def alert_raised(self, rule: str, stage: str, severity: str, latency_s: float) -> None:
        """latency_s: raise time minus due time (wall clock in live mode)."""

    def alert_settled(self, rule: str, stage: str, state: str) -> None:
        """A raised alert was resolved or retracted (state)."""

    def set_state(
        self, juveniles_by_suite: Mapping[str, int], open_episodes: int, open_deadlines: int
    ) -> None:
        """Current gauges, refreshed by the worker every few seconds."""

    def set_consumer_lag(self, lags: Mapping[int, int]) -> None:
        """Lag per partition this worker owns now (others are dropped)."""

    def partition_restored(self, seconds: float) -> None:
        """A partition's engine was rebuilt from its changelog in this long."""

    def notification_delivered(self, channel: str, kind: str) -> None:
        """A notification reached its receiver (webhook, email or kafka)."""

    def delivery_failed(self, channel: str, reason: str) -> None:
        """One delivery attempt failed; reason is a `notify.delivery.FailureReason`."""

    def notification_given_up(self, channel: str) -> None:
        """A notification failed for good (permanent failure or 24 h of retries)."""

    def delivery_attempted(self, channel: str, duration_s: float) -> None:
        """How long one delivery attempt took, whatever its result."""

    def escalation_step(self, severity: str, step: int, lateness_s: float) -> None:
        """serve took an escalation step (lateness: taken minus due, in seconds)."""

    def alert_acknowledged(self, severity: str, seconds_to_ack: float) -> None:
        """Someone took ownership of an alert this long after it was raised."""

    def set_alert_states(
        self,
        open_alerts: Mapping[str, int],
        unacknowledged: Mapping[str, int],
        past_ladder: Mapping[str, int],
    ) -> None:
        """By severity: alerts raised and not settled; of those not acknowledged; and of
        those, the ones whose ladder has reached its last step (nobody has taken them)."""


class NullObserver:
    """Observes nothing: for replay and for tests that do not look at metrics."""

    def event_processed(self, event_type: str, count: int = 1) -> None:
        pass

    def duplicate_ignored(self) -> None:
        pass

    def event_rejected(self, reason: str) -> None:
        pass

    def alert_raised(self, rule: str, stage: str, severity: str, latency_s: float) -> None:
        pass

    def alert_settled(self, rule: str, stage: str, state: str) -> None:
        pass

    def set_state(
        self, juveniles_by_suite: Mapping[str, int], open_episodes: int, open_deadlines: int
    ) -> None:
        pass

    def set_consumer_lag(self, lags: Mapping[int, int]) -> None:
        pass

    def partition_restored(self, seconds: float) -> None:
        pass

    def notification_delivered(self, channel: str, kind: str) -> None:
        pass

    def delivery_failed(self, channel: str, reason: str) -> None:
        pass

    def notification_given_up(self, channel: str) -> None:
        pass

    def delivery_attempted(self, channel: str, duration_s: float) -> None:
        pass

    def escalation_step(self, severity: str, step: int, lateness_s: float) -> None:
        pass

    def alert_acknowledged(self, severity: str, seconds_to_ack: float) -> None:
        pass

    def set_alert_states(
        self,
        open_alerts: Mapping[str, int],
        unacknowledged: Mapping[str, int],
        past_ladder: Mapping[str, int],
    ) -> None:
        pass
