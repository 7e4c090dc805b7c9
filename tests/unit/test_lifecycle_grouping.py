"""Grouping: a record's notices to one recipient within 60 s go as one; the first at once."""

from __future__ import annotations

from lifecycle_kit import POLICY, ROUTING, T0, alert, closed

from custodywatch.contract.notifications import Notification
from custodywatch.lifecycle.decide import on_record
from custodywatch.lifecycle.grouping import Groups, offer

S = 1_000_000
SGT = "suite/perry-barr/custody_sergeant"


def email_to_sergeant(stage: str, when: int, record_id: str = "CR1") -> Notification:
    d = on_record(None, alert(stage=stage, record_id=record_id, raised=when), when, POLICY, ROUTING)
    return next(n for n in d.notifications if n.recipient == SGT and n.channel == "email")


def test_first_goes_at_once_later_ones_wait_for_the_window_then_go_as_one() -> None:
    g = Groups(POLICY.group_window)
    a, b, c = (email_to_sergeant(s, T0 + i * 20 * S) for i, s in enumerate(("a", "b", "c")))
    first = offer(g, [a], T0)
    assert [o.notification for o in first.send] == [a]
    assert first.wake_at is None  # nothing held yet
    second = offer(first.groups, [b], T0 + 20 * S)
    third = offer(second.groups, [c], T0 + 40 * S)
    assert second.send == third.send == ()
    assert third.wake_at == T0 + 60 * S
    assert offer(third.groups, [], T0 + 60 * S - 1).send == ()
    flushed = offer(third.groups, [], T0 + 60 * S)
    (out,) = flushed.send
    assert out.covers == (b.idempotency_key, c.idempotency_key)
    assert out.notification.idempotency_key == b.idempotency_key
    assert [x.alert_id for x in out.notification.alerts] == [
        "CR1/detention_duration/b",
        "CR1/detention_duration/c",
    ]
    assert out.notification.subject.startswith("2 alerts raised: CR1 at perry-barr")
    assert flushed.wake_at is None and flushed.groups.windows == {}
    # The window has closed: the next one goes at once again.
    d = email_to_sergeant("d", T0 + 61 * S)
    assert [o.notification for o in offer(flushed.groups, [d], T0 + 61 * S).send] == [d]


def test_notices_arriving_together_go_together_at_once() -> None:
    a, b = email_to_sergeant("a", T0), email_to_sergeant("b", T0)
    (out,) = offer(Groups(POLICY.group_window), [a, b], T0).send
    assert out.covers == (a.idempotency_key, b.idempotency_key)
    assert len(out.notification.alerts) == 2


def test_other_records_recipients_kinds_and_channels_are_not_grouped() -> None:
    raised = on_record(None, alert(stage="a"), T0, POLICY, ROUTING)
    g = offer(Groups(POLICY.group_window), [email_to_sergeant("a", T0)], T0).groups
    resolved = on_record(
        raised.case, closed(raised.case.record, "resolved", T0), T0, POLICY, ROUTING
    )
    other_kind = next(n for n in resolved.notifications if n.channel == "email")
    other_record = email_to_sergeant("b", T0 + S, record_id="CR2")
    d = on_record(None, alert("la_refused", "refused", raised=T0 + S), T0 + S, POLICY, ROUTING)
    sergeant_webhook = next(
        n for n in d.notifications if n.recipient == SGT and n.channel == "webhook"
    )
    other_recipient = next(n for n in d.notifications if n.recipient != SGT)
    step = offer(g, [other_record, sergeant_webhook, other_recipient, other_kind], T0 + S)
    assert len(step.send) == 4


def test_window_zero_turns_grouping_off() -> None:
    a, b = email_to_sergeant("a", T0), email_to_sergeant("b", T0 + S)
    first = offer(Groups(0), [a], T0)
    assert [o.notification for o in offer(first.groups, [b], T0 + S).send] == [b]
