"""The store's queries and claims, on SQLite and PostgreSQL; concurrent claims on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, timedelta, timezone

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from storekit import T0, alert, alert_bytes, migrated, session_of

from custodywatch.contract.notifications import AlertLine, Notification
from custodywatch.store.apply import NoHooks, fold_batch
from custodywatch.store.queries import (
    AckOutcome,
    AlertView,
    acknowledge,
    claim_due_escalations,
    claim_due_outbox,
    enqueue,
    get_alert,
    list_alerts,
    record_delivery,
    set_escalation,
)
from custodywatch.store.schema import outbox

NOW = T0 + timedelta(hours=1)


def seeded(url: str) -> Engine:
    engine = migrated(url)
    records = [
        alert(1, suite="perry-barr", la="sandwell"),
        alert(2, suite="perry-barr", la="birmingham"),
        alert(3, suite="steelhouse", la="birmingham"),
        alert(1, "resolved"),
    ]
    with session_of(engine) as session:
        fold_batch(
            session, [(str(i), alert_bytes(r)) for i, r in enumerate(records)], [], NoHooks()
        )
    return engine


def ids(views: Sequence[AlertView]) -> list[str]:
    return [v.alert_id[:3] for v in views]


def test_list_newest_first_with_filters(database_url: str) -> None:
    engine = seeded(database_url)
    with session_of(engine) as session:
        assert ids(list_alerts(session)) == ["CR3", "CR2", "CR1"]
        assert ids(list_alerts(session, open_only=True)) == ["CR3", "CR2"]
        assert ids(list_alerts(session, suite_id="perry-barr")) == ["CR2", "CR1"]
        assert ids(list_alerts(session, local_authority="birmingham", open_only=True)) == [
            "CR3",
            "CR2",
        ]
        assert ids(list_alerts(session, limit=1)) == ["CR3"]


def test_acknowledge_once_stops_escalation_and_is_logged(database_url: str) -> None:
    engine = seeded(database_url)
    alert_id = "CR2/six_hours/warning"
    with session_of(engine) as session:
        set_escalation(session, alert_id, step=0, next_step_at=NOW)
    with session_of(engine) as session:
        outcome = acknowledge(
            session, alert_id, by="sgt-41", role="custody_sergeant", note="with AA", now=NOW
        )
    assert outcome is AckOutcome.ACKNOWLEDGED
    with session_of(engine) as session:
        again = acknowledge(session, alert_id, by="insp-2", role=None, note=None, now=NOW)
        unknown = acknowledge(session, "nope", by="x", role=None, note=None, now=NOW)
    assert (again, unknown) == (AckOutcome.ALREADY, AckOutcome.UNKNOWN)
    with session_of(engine) as session:
        history = get_alert(session, alert_id)
        assert get_alert(session, "nope") is None
    assert history is not None
    view = history.alert
    assert (view.ack_by, view.ack_role, view.ack_at, view.ack_note) == (
        "sgt-41",
        "custody_sergeant",
        NOW,
        "with AA",
    )
    assert view.next_step_at is None and view.state == "raised"  # acknowledged is not resolved
    assert [(e.kind, e.actor) for e in history.log] == [
        ("raised", None),
        ("acknowledged", "sgt-41"),
    ]
    assert history.log[1].details == {"role": "custody_sergeant", "note": "with AA"}


def test_due_escalations_skip_acknowledged_ended_and_future_timers(database_url: str) -> None:
    engine = seeded(database_url)
    with session_of(engine) as session:
        set_escalation(session, "CR1/six_hours/warning", step=0, next_step_at=NOW)  # resolved
        set_escalation(session, "CR2/six_hours/warning", step=0, next_step_at=NOW)
        set_escalation(
            session, "CR3/six_hours/warning", step=1, next_step_at=NOW + timedelta(seconds=1)
        )
    with session_of(engine) as session:
        assert ids(claim_due_escalations(session, NOW)) == ["CR2"]
        assert ids(claim_due_escalations(session, NOW + timedelta(minutes=1))) == ["CR2", "CR3"]
        acknowledge(session, "CR2/six_hours/warning", by="s", role=None, note=None, now=NOW)
        assert ids(claim_due_escalations(session, NOW + timedelta(minutes=1))) == ["CR3"]


def notification(n: int, key: str | None = None) -> Notification:
    line = AlertLine(
        alert_id=f"CR{n}/six_hours/warning",
        rule="six_hours",
        stage="warning",
        severity="warning",
        state="raised",
        custody_record_id=f"CR{n}",
        person_ref=f"P{n}",
        suite_id="perry-barr",
        home_local_authority="sandwell",
        due_at="2026-03-01T18:00:00Z",
        raised_at="2026-03-01T18:00:00Z",
        summary="six hours",
    )
    return Notification(
        idempotency_key=key or f"{line.alert_id}/0/suite/perry-barr/custody_sergeant/raised",
        kind="raised",
        step=0,
        recipient="suite/perry-barr/custody_sergeant",
        channel="webhook",
        address="https://example.invalid/hook",
        subject="six hours",
        text="six hours",
        alerts=(line,),
        created_at="2026-03-01T18:00:00Z",
    )


def test_outbox_enqueue_once_claim_with_a_lease_and_record_attempts(database_url: str) -> None:
    engine = seeded(database_url)
    with session_of(engine) as session:
        assert enqueue(session, notification(2), next_attempt_at=NOW) is True
        assert enqueue(session, notification(2), next_attempt_at=NOW) is False  # same key
        assert enqueue(session, notification(3), next_attempt_at=NOW + timedelta(hours=1)) is True
    lease = timedelta(minutes=2)
    with session_of(engine) as session:
        claimed = claim_due_outbox(session, NOW, lease=lease)
    assert [c.notification for c in claimed] == [notification(2)]
    assert claimed[0].attempts == 0
    with session_of(engine) as session:
        assert claim_due_outbox(session, NOW + timedelta(minutes=1), lease=lease) == []  # leased
        retry = NOW + timedelta(minutes=5)
        record_delivery(session, claimed[0].id, now=NOW, error="HTTP 503\nbody", retry_at=retry)
    with session_of(engine) as session:
        assert claim_due_outbox(session, NOW + timedelta(minutes=4), lease=lease) == []
        again = claim_due_outbox(session, retry, lease=lease)
        assert [c.attempts for c in again] == [1]
        record_delivery(session, again[0].id, now=retry)
    with session_of(engine) as session:
        row = session.execute(select(outbox).where(outbox.c.id == again[0].id)).one()
        assert (row.attempts, row.delivered_at, row.last_error, row.next_attempt_at) == (
            2,
            retry,
            None,
            None,
        )
        later = claim_due_outbox(session, NOW + timedelta(days=1), lease=lease)
        assert [c.notification for c in later] == [notification(3)]  # the delivered one is done
        history = get_alert(session, "CR2/six_hours/warning")
    assert history is not None
    attempts = [e.details for e in history.log if e.kind == "delivery_attempt"]
    assert [(a["attempt"], a["ok"], a["error"]) for a in attempts] == [
        (1, False, "HTTP 503"),
        (2, True, None),
    ]
    assert {e.actor for e in history.log if e.kind == "delivery_attempt"} == {
        "suite/perry-barr/custody_sergeant"
    }


def _claim_concurrently(
    engine: Engine, claim: Callable[[Session], list[int]], rounds: int
) -> list[list[int]]:
    """Two claimers, each in its own transaction, holding its claim until both have claimed."""
    barrier = threading.Barrier(2, timeout=30)
    got: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            for _ in range(rounds):
                with session_of(engine) as session:
                    got[index].extend(claim(session))
                    barrier.wait()  # both hold their locks (or lease) at the same time
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return got


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_claimers_never_take_the_same_timer(database_url: str) -> None:
    engine = migrated(database_url)
    records = [alert(n) for n in range(200)]
    with session_of(engine) as session:
        fold_batch(
            session, [(str(i), alert_bytes(r)) for i, r in enumerate(records)], [], NoHooks()
        )
        for record in records:
            set_escalation(session, record.alert_id, step=0, next_step_at=NOW)

    def claim(session: Session) -> list[int]:
        views = claim_due_escalations(session, NOW, limit=20)
        for view in views:  # escalate: the next step is later
            set_escalation(session, view.alert_id, step=1, next_step_at=NOW + timedelta(hours=1))
        return [int(v.custody_record_id[2:]) for v in views]

    first, second = _claim_concurrently(engine, claim, rounds=5)
    assert len(first) == len(second) == 100  # each got a full share, none blocked
    assert not set(first) & set(second)
    assert sorted(first + second) == list(range(200))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_claimers_never_take_the_same_outbox_row(database_url: str) -> None:
    engine = migrated(database_url)
    with session_of(engine) as session:
        for n in range(200):
            enqueue(session, notification(n, key=f"k{n}"), next_attempt_at=NOW)

    def claim(session: Session) -> list[int]:
        items = claim_due_outbox(session, NOW, lease=timedelta(minutes=5), limit=20)
        return [int(i.notification.idempotency_key[1:]) for i in items]

    first, second = _claim_concurrently(engine, claim, rounds=5)
    assert len(first) == len(second) == 100
    assert not set(first) & set(second)
    assert sorted(first + second) == list(range(200))


def test_now_is_compared_as_an_instant_whatever_its_zone(database_url: str) -> None:
    engine = seeded(database_url)
    with session_of(engine) as session:
        set_escalation(session, "CR2/six_hours/warning", step=0, next_step_at=NOW)
    plus_one = NOW.astimezone(timezone(timedelta(hours=1)))
    with session_of(engine) as session:
        assert ids(claim_due_escalations(session, plus_one)) == ["CR2"]
        assert ids(claim_due_escalations(session, plus_one - timedelta(microseconds=1))) == []
    assert NOW.tzinfo is UTC
