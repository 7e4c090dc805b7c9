"""The peer: the six-hour job written plainly in Quix Streams 3.28, at-least-once.

Runs in its own virtualenv (`peer.py` makes it): imports only quixstreams and the
standard library. Per custody record (the message key) it keeps, in Quix's state
(RocksDB with a changelog topic), the detention time of a child and whether the
detention ended; on each event of that record it raises the detention_duration
alerts (approaching at 5 h, breach at 6 h) whose time the event has passed, once
each. It is plainer than the worker: no firing of a record without a new event,
no alert states, no dead letters, no transactions. It prints `first <wall time>`
when it has processed its first message and `done <wall time>` at the --expected-th.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, datetime
from typing import Any

from quixstreams import Application, State  # type: ignore[import-not-found]

HOUR_US = 3_600_000_000
STAGES = (("approaching", 5 * HOUR_US), ("breach", 6 * HOUR_US))
ENDS = frozenset({"released", "transferred_to_la"})


def to_us(text: str) -> int:
    moment = datetime.fromisoformat(text)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def is_child(payload: dict[str, Any], t0: str) -> bool:
    detainee = payload.get("detainee", {})
    born = detainee.get("date_of_birth")
    if born is None:
        return bool(detainee.get("appears_under_18"))
    birth, at = date.fromisoformat(born), date.fromisoformat(t0[:10])
    return (at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day))) < 18


def six_hours(value: bytes, state: State) -> list[dict[str, Any]]:
    try:
        event = json.loads(value)
        kind, at = event["event_type"], to_us(event["occurred_at"])
    except (ValueError, KeyError, TypeError):
        return []  # the simulator's deliberate junk
    if kind == "detention_authorised":
        if is_child(event.get("payload", {}), event["occurred_at"]):
            state.set("t0", at)
            state.set("fired", [])
        return []
    t0 = state.get("t0")
    if t0 is None or state.get("ended"):
        return []
    fired: list[str] = state.get("fired", [])
    alerts = []
    for stage, after in STAGES:
        if stage not in fired and at > t0 + after:
            fired.append(stage)
            alerts.append(
                {
                    "alert_id": f"{event['custody_record_id']}/detention_duration/{stage}",
                    "due_at_us": t0 + after,
                }
            )
    if alerts:
        state.set("fired", fired)
    if kind in ENDS:
        state.set("ended", True)
    return alerts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker", required=True)
    parser.add_argument("--events", required=True)
    parser.add_argument("--alerts", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--expected", type=int, required=True)
    args = parser.parse_args()
    app = Application(
        broker_address=args.broker,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        processing_guarantee="at-least-once",
        state_dir=args.state_dir,
        loglevel="WARNING",
    )
    events = app.topic(args.events, value_deserializer="bytes", key_deserializer="bytes")
    alerts = app.topic(args.alerts, value_serializer="json", key_serializer="bytes")
    seen = 0

    def count(_: bytes) -> None:
        nonlocal seen
        seen += 1
        if seen == 1:
            print(f"first {time.time()}", flush=True)
        if seen == args.expected:
            print(f"done {time.time()}", flush=True)

    sdf = app.dataframe(events)
    sdf = sdf.update(count)
    sdf = sdf.apply(six_hours, stateful=True, expand=True)
    sdf.to_topic(alerts)
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
