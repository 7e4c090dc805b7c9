"""serve's alert-state gauges and time-to-acknowledge histogram, read from a real store
(SQLite and PostgreSQL) into the real Prometheus adapter."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from storekit import T0, alert, alert_bytes, migrated, session_of

from custodywatch.alerting.states import AlertStates
from custodywatch.lifecycle.policy import EscalationPolicy
from custodywatch.metrics import PrometheusObserver
from custodywatch.store.apply import NoHooks, fold_batch
from custodywatch.store.queries import acknowledge


def seeded(url: str) -> Engine:
    """CR1 resolved; CR2 and CR3 open (warning), nobody has acknowledged."""
    engine = migrated(url)
    records = [alert(1), alert(2), alert(3), alert(1, "resolved")]
    with session_of(engine) as session:
        fold_batch(
            session, [(str(i), alert_bytes(r)) for i, r in enumerate(records)], [], NoHooks()
        )
    return engine


def sample(registry: CollectorRegistry, name: str, severity: str = "warning") -> float | None:
    return registry.get_sample_value(name, {"severity": severity})


def ack(engine: Engine, n: int, minutes_after_raise: int) -> None:
    at = T0 + timedelta(minutes=n + minutes_after_raise)  # alert n is raised at T0 + n min
    with session_of(engine) as session:
        acknowledge(session, f"CR{n}/six_hours/warning", by="sgt", role=None, note=None, now=at)


def test_the_first_acknowledgement_of_a_store_without_any_is_observed(database_url: str) -> None:
    engine = seeded(database_url)
    registry = CollectorRegistry()
    states = AlertStates(engine, EscalationPolicy(), PrometheusObserver(registry))
    states.refresh()  # at start: no acknowledgement yet
    assert sample(registry, "custodywatch_alerts_open") == 2
    assert sample(registry, "custodywatch_alerts_unacknowledged") == 2

    ack(engine, 2, minutes_after_raise=58)
    states.refresh()
    states.refresh()  # seen once, not again
    assert sample(registry, "custodywatch_time_to_acknowledge_seconds_count") == 1
    assert sample(registry, "custodywatch_time_to_acknowledge_seconds_sum") == 58 * 60
    assert sample(registry, "custodywatch_alerts_open") == 2  # acknowledged is still open
    assert sample(registry, "custodywatch_alerts_unacknowledged") == 1

    ack(engine, 3, minutes_after_raise=70)  # acknowledged after the first one
    states.refresh()
    assert sample(registry, "custodywatch_time_to_acknowledge_seconds_count") == 2


def test_a_restarted_serve_does_not_observe_earlier_acknowledgements_again(
    database_url: str,
) -> None:
    engine = seeded(database_url)
    ack(engine, 2, minutes_after_raise=10)
    registry = CollectorRegistry()
    states = AlertStates(engine, EscalationPolicy(), PrometheusObserver(registry))
    states.refresh()
    assert sample(registry, "custodywatch_time_to_acknowledge_seconds_count") == 0
    ack(engine, 3, minutes_after_raise=20)
    states.refresh()
    assert sample(registry, "custodywatch_time_to_acknowledge_seconds_count") == 1
    assert sample(registry, "custodywatch_time_to_acknowledge_seconds_sum") == 20 * 60
