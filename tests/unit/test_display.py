"""The lines a person reads: demo alert lines and `alerts tail` / `dlq tail`."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from custodywatch.demo import _in_time_order, _line
from custodywatch.stream.tail import alert_line, dead_letter_fields, dead_letter_line


def _alert(**changes: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "alert_id": "CR7/detention_duration/breach",
        "rule": "detention_duration",
        "stage": "breach",
        "severity": "critical",
        "custody_record_id": "CR7",
        "suite_id": "perry-barr",
        "person_ref": "P-000123",
        "due_at": "2025-11-14T20:00:00+00:00",
        "state": "raised",
        "state_at": "2025-11-14T20:00:00+00:00",
        "summary": "6 hours in custody (local policy)",
    }
    alert.update(changes)
    return alert


def test_a_demo_line_shows_the_custody_record_and_not_the_person() -> None:
    line = _line(_alert(), io.StringIO())
    assert line.startswith("  Fri 20:00  perry-barr")
    assert "CR7" in line and "P-000123" not in line
    assert "[raised]" not in line


def test_a_demo_line_shows_a_state_other_than_raised_at_its_time() -> None:
    line = _line(
        _alert(state="resolved", state_at="2025-11-14T21:30:00+00:00", summary="released"),
        io.StringIO(),
    )
    assert line.startswith("  Fri 21:30  ") and "[resolved] released" in line


def test_alerts_of_one_second_are_printed_in_time_order() -> None:
    late = _alert(alert_id="b", due_at="2025-11-14T20:00:00.5+00:00")
    early = _alert(alert_id="a", due_at="2025-11-14T20:00:00Z")
    other_offset = _alert(alert_id="c", due_at="2025-11-14T21:00:00+01:00")  # 20:00Z
    ordered = _in_time_order([late, early, other_offset])
    assert [a["alert_id"] for a in ordered] == ["a", "c", "b"]


def test_a_tail_line_for_an_alert() -> None:
    line = alert_line(_alert())
    assert line.startswith("2025-11-14 20:00 GMT  raised")
    assert "critical" in line and "detention_duration/breach" in line and "CR7" in line
    assert "P-000123" not in line


@dataclass
class _Record:
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def test_a_dead_letter_shows_reason_and_origin_and_its_bytes_only_when_asked() -> None:
    record = _Record(
        b"CR9",
        b'{"name": "A Child"',
        [
            ("reason", b"invalid_json"),
            ("message", b"not valid JSON: EOF while parsing"),
            ("source_topic", b"custody.events.v1"),
            ("source_partition", b"2"),
            ("source_offset", b"41"),
        ],
    )
    line = dead_letter_line(dead_letter_fields(record, raw=False))
    assert line.startswith("invalid_json")
    assert "custody.events.v1[2]@41" in line and "key=CR9" in line
    assert "A Child" not in line
    assert "A Child" in dead_letter_line(dead_letter_fields(record, raw=True))
