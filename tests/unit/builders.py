"""Tiny builders for custody event JSONL, written from the contract (custody-events.md).

    ep = Episode("CR1", t0="2026-03-01T18:00:00+00:00", dob="2010-06-15")
    ep.at("+1h", "appropriate_adult_requested").at("+7h", "released")
    got = replay(ep.lines(), until=ep.time("+8h"))
    got.pairs  # [(alert_id, due_at as an aware datetime), ...] in output order

Times given to `at`/`time` are either offsets from T0 ("+1h", "-30m", "+6h1s",
"+1d2h", "+500ms") or absolute RFC 3339 strings / aware datetimes. Absolute strings
are copied verbatim into `occurred_at`, so a test can use any UTC offset.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from custodywatch.contract.alerts import AlertRecord
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig
from custodywatch.replay import ReplayResult, replay_lines

_OFFSET = re.compile(
    r"^(?P<sign>[+-])(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?!s))?"
    r"(?:(?P<s>\d+)s)?(?:(?P<ms>\d+)ms)?(?:(?P<us>\d+)us)?$"
)

When = str | datetime


def offset(text: str) -> timedelta:
    """'+1h', '-30m', '+6h1s', '+1d2h', '+500ms', '+1us' -> timedelta."""
    match = _OFFSET.match(text)
    if not match or not any(match.group(k) for k in ("d", "h", "m", "s", "ms", "us")):
        raise ValueError(f"not an offset: {text!r}")
    parts = {k: int(match.group(k) or 0) for k in ("d", "h", "m", "s", "ms", "us")}
    delta = timedelta(
        days=parts["d"],
        hours=parts["h"],
        minutes=parts["m"],
        seconds=parts["s"],
        milliseconds=parts["ms"],
        microseconds=parts["us"],
    )
    return -delta if match.group("sign") == "-" else delta


def parse_ts(text: str) -> datetime:
    """An RFC 3339 timestamp with offset ('Z' allowed) as an aware datetime in UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without offset: {text!r}")
    return moment.astimezone(UTC)


def utc(text: str) -> datetime:
    """Shorthand for expected instants: utc('2026-03-01T22:00') is 22:00 UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat()


_DEFAULT_PAYLOADS: dict[str, dict[str, Any]] = {
    "age_established": {},
    "appropriate_adult_requested": {},
    "appropriate_adult_arrived": {},
    "detention_reviewed": {"reviewing_rank": "inspector"},
    "detention_extended": {},
    "charged": {"offences": ["theft"]},
    "bail_refused": {},
    "la_accommodation_requested": {"accommodation_type": "non_secure"},
    "la_accommodation_response": {},
    "transfer_impracticable_certified": {"reason": "no bed available"},
    "transferred_to_la": {},
    "transferred_to_suite": {},
    "released": {"disposal": "bail"},
}
_NEEDS_LA = {"la_accommodation_requested", "la_accommodation_response", "transferred_to_la"}


class Episode:
    """Events of one detention episode, each with a unique event_id."""

    def __init__(
        self,
        record_id: str = "CR1",
        t0: str = "2026-03-01T12:00:00+00:00",
        *,
        dob: str | date | None = None,
        appears_under_18: bool | None = None,
        arrest_basis: str = "new_offence",
        suite: str = "perry-barr",
        person_ref: str = "P-0001",
        home_la: str = "birmingham",
        arrested_at: When = "-1h",
        arrived_at: When = "-30m",
        looked_after_child: bool | None = None,
        sex: str | None = None,
        offence_category: str = "theft",
    ) -> None:
        self.record_id = record_id
        self.t0_text = t0
        self.t0 = parse_ts(t0)
        self.suite = suite
        self.home_la = home_la
        self.person_ref = person_ref
        self.events: list[dict[str, Any]] = []
        self._counter = 0
        detainee = {
            "person_ref": person_ref,
            "date_of_birth": dob.isoformat() if isinstance(dob, date) else dob,
            "appears_under_18": appears_under_18,
            "looked_after_child": looked_after_child,
            "sex": sex,
        }
        self.at(
            t0,
            "detention_authorised",
            detainee=detainee,
            arrested_at=self._stamp(arrested_at),
            arrived_at=self._stamp(arrived_at),
            arrest_basis=arrest_basis,
            offence_category=offence_category,
            home_local_authority=home_la,
        )

    # --- time ------------------------------------------------------------

    def time(self, when: When) -> datetime:
        """The UTC instant of an offset from T0 or an absolute timestamp."""
        if isinstance(when, datetime):
            return when.astimezone(UTC)
        if when[:1] in "+-":
            return self.t0 + offset(when)
        return parse_ts(when)

    def _stamp(self, when: When) -> str:
        if isinstance(when, str) and when[:1] not in "+-":
            return when  # absolute: keep the producer's own offset
        return _rfc3339(self.time(when))

    # --- events ----------------------------------------------------------

    def event(
        self,
        when: When,
        event_type: str,
        *,
        event_id: str | None = None,
        suite_id: str | None = None,
        **payload: Any,
    ) -> dict[str, Any]:
        """Build (and record) one event; returns the dict."""
        self._counter += 1
        body = dict(_DEFAULT_PAYLOADS.get(event_type, {}))
        if event_type in _NEEDS_LA:
            body.setdefault("local_authority", self.home_la)
        body.update(payload)
        record = {
            "schema_version": 1,
            "event_id": event_id or f"{self.record_id}-e{self._counter:03d}",
            "event_type": event_type,
            "custody_record_id": self.record_id,
            "suite_id": suite_id or self.suite,
            "occurred_at": self._stamp(when),
            "payload": body,
        }
        if event_type == "transferred_to_suite":
            self.suite = body["to_suite_id"]
        self.events.append(record)
        return record

    def at(self, when: When, event_type: str, **kwargs: Any) -> Episode:
        """Chainable form of `event`."""
        self.event(when, event_type, **kwargs)
        return self

    def lines(self) -> list[bytes]:
        return [dumps(e) for e in self.events]


def dumps(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


def due(alert: AlertRecord) -> datetime:
    return parse_ts(alert.due_at)


@dataclass
class Replayed:
    result: ReplayResult

    @property
    def alerts(self) -> list[AlertRecord]:
        return list(self.result.alerts)

    @property
    def pairs(self) -> list[tuple[str, datetime]]:
        """(alert_id, due_at) in output order."""
        return [(a.alert_id, due(a)) for a in self.result.alerts]

    @property
    def ids(self) -> list[str]:
        return [a.alert_id for a in self.result.alerts]

    @property
    def rejects(self) -> list[tuple[int, str]]:
        """(line number, reason code) for every reject."""
        return [(r.line, r.reject.reason.value) for r in self.result.rejects]

    def matching(self, prefix: str) -> list[tuple[str, datetime]]:
        return [(i, d) for i, d in self.pairs if i.startswith(prefix)]

    def states(self, alert_id: str) -> list[str]:
        """The alert's states in the order the engine emitted them (its history)."""
        return [a.state for a in self.result.history if a.alert_id == alert_id]

    def one(self, alert_id: str) -> AlertRecord:
        found = [a for a in self.result.alerts if a.alert_id == alert_id]
        assert len(found) == 1, f"expected exactly one {alert_id}, got {self.ids}"
        return found[0]


def replay(
    lines: list[bytes], until: When | None = None, rules: RuleConfig | None = None
) -> Replayed:
    """Run `custodywatch.replay.replay_lines`; `until` is an aware datetime or RFC 3339 text."""
    stop = None
    if until is not None:
        stop = to_us(until if isinstance(until, datetime) else parse_ts(until))
    return Replayed(replay_lines(lines, rules or RuleConfig(), until=stop))
