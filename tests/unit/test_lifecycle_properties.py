"""Whatever the order of acks, resolves, retracts, re-deliveries and timers, nothing is sent twice."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st
from lifecycle_kit import POLICY, ROUTING, T0, alert, closed

from custodywatch.contract.alerts import AlertRecord
from custodywatch.lifecycle.case import Decision
from custodywatch.lifecycle.decide import advance, on_ack, on_due, on_record

MIN = 60_000_000
RECORDS = [
    alert(),
    alert("detention_duration", "approaching", "warning"),
    alert("la_refused", "refused"),
    alert("la_request_missing", "escalated", suite="digbeth", la="narnia"),
]
ROLES = [
    "suite/perry-barr/custody_sergeant",
    "suite/oldbury/custody_sergeant",
    "force/superintendent",
]

Op = tuple[str, int, int]
ops = st.lists(
    st.tuples(
        st.sampled_from(["ack", "due", "advance", "resolve", "retract", "raise"]),
        st.integers(0, 120),  # minutes since the previous operation
        st.integers(0, len(ROLES) - 1),
    ),
    max_size=25,
)


def apply(record: AlertRecord, script: list[Op]) -> list[Decision]:
    now = T0
    decisions = [on_record(None, record, now, POLICY, ROUTING)]
    for name, minutes, role in script:
        now += minutes * MIN
        case = decisions[-1].case
        if name == "ack":
            d = on_ack(case, "user-1", ROLES[role], None, now)
        elif name == "due":
            d = on_due(case, now, POLICY, ROUTING)
        elif name == "advance":
            d = advance(case, now, POLICY, ROUTING)
        elif name == "raise":
            d = on_record(case, record, now, POLICY, ROUTING)
        else:
            state: Literal["resolved", "retracted"] = (
                "resolved" if name == "resolve" else "retracted"
            )
            d = on_record(case, closed(record, state, now), now, POLICY, ROUTING)
        decisions.append(d)
    return decisions


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(RECORDS), ops)
def test_no_notification_is_produced_twice(record: AlertRecord, script: list[Op]) -> None:
    decisions = apply(record, script)
    sent = [(n.idempotency_key, n.channel, n.address) for d in decisions for n in d.notifications]
    assert not [k for k, count in Counter(sent).items() if count > 1]
    # (alert, step, recipient, kind): all its channels in one decision, never again later.
    seen: set[str] = set()
    for d in decisions:
        keys = {n.idempotency_key for n in d.notifications}
        assert not keys & seen
        seen |= keys


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(RECORDS), ops)
def test_acks_stop_escalation_and_closing_notices_go_only_to_those_told(
    record: AlertRecord, script: list[Op]
) -> None:
    decisions = apply(record, script)
    told = {n.recipient for n in decisions[0].notifications}
    for before, d in pairwise(decisions):
        for n in d.notifications:
            if n.kind == "escalated":
                assert before.case.ack is None and before.case.record.state == "raised"
            if n.kind in ("resolved", "retracted"):
                assert n.recipient in told
        told |= {n.recipient for n in d.notifications}
    final = decisions[-1].case
    if final.record.state != "raised" or final.ack is not None:
        assert final.next_at is None
    elif record.severity == "critical":
        assert final.next_at is not None  # critical escalation never silently stops
