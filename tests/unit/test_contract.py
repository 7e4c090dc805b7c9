"""The event contract: strict parsing, stable reject codes, schema drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from custodywatch.contract.events import DetentionAuthorised, Released
from custodywatch.contract.rejects import Reject, RejectReason, decode
from custodywatch.schemas import drift, generated_schemas

ROOT = Path(__file__).resolve().parents[2]

VALID: dict[str, Any] = {
    "schema_version": 1,
    "event_id": "e-1",
    "event_type": "detention_authorised",
    "custody_record_id": "CR-1",
    "suite_id": "perry-barr",
    "occurred_at": "2026-07-01T19:00:00+01:00",
    "payload": {
        "detainee": {"person_ref": "P-1", "date_of_birth": "2010-01-01"},
        "arrested_at": "2026-07-01T18:00:00+01:00",
        "arrived_at": "2026-07-01T18:30:00+01:00",
        "arrest_basis": "new_offence",
        "offence_category": "theft",
        "home_local_authority": "sandwell",
    },
}


def with_(path: str, value: Any) -> bytes:
    doc = json.loads(json.dumps(VALID))
    *parents, leaf = path.split(".")
    target = doc
    for key in parents:
        target = target[key]
    if value is DELETE:
        del target[leaf]
    else:
        target[leaf] = value
    return json.dumps(doc).encode()


DELETE = object()


def test_valid_event_is_parsed_and_normalised_to_utc() -> None:
    event = decode(json.dumps(VALID))
    assert isinstance(event, DetentionAuthorised)
    assert event.occurred_at.isoformat() == "2026-07-01T18:00:00+00:00"
    assert event.payload.arrived_at.utcoffset() is not None


def test_events_are_frozen() -> None:
    event = decode(json.dumps(VALID))
    assert not isinstance(event, Reject)
    with pytest.raises(ValueError, match="frozen"):
        event.suite_id = "elsewhere"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "reason", "mentions"),
    [
        (b"{not json", RejectReason.INVALID_JSON, "not valid JSON: "),
        (b"\xff\xfe\x00", RejectReason.INVALID_JSON, "not valid JSON: "),
        (b"[1, 2]", RejectReason.NOT_AN_OBJECT, "object"),
        (b'"text"', RejectReason.NOT_AN_OBJECT, "object"),
        (with_("event_type", "arrested"), RejectReason.UNKNOWN_EVENT_TYPE, "'arrested'"),
        (with_("event_type", DELETE), RejectReason.MISSING_FIELD, "event_type"),
        (with_("suite_id", DELETE), RejectReason.MISSING_FIELD, "suite_id"),
        (
            with_("payload.detainee.person_ref", DELETE),
            RejectReason.MISSING_FIELD,
            "payload.detainee.person_ref",
        ),
        (with_("suite_id", 7), RejectReason.WRONG_TYPE, "suite_id"),
        (
            with_("payload.detainee.appears_under_18", "yes"),
            RejectReason.WRONG_TYPE,
            "appears_under_18",
        ),
        (with_("colour", "red"), RejectReason.UNKNOWN_FIELD, "colour"),
        (
            with_("payload.detainee.name", "A Child"),
            RejectReason.UNKNOWN_FIELD,
            "payload.detainee.name",
        ),
        (
            with_("occurred_at", "2026-07-01T19:00:00"),
            RejectReason.TIMESTAMP_WITHOUT_OFFSET,
            "occurred_at",
        ),
        (
            with_("payload.arrived_at", "2026-07-01T18:30:00"),
            RejectReason.TIMESTAMP_WITHOUT_OFFSET,
            "payload.arrived_at",
        ),
        (with_("occurred_at", "yesterday"), RejectReason.INVALID_VALUE, "occurred_at"),
        (with_("payload.arrest_basis", "suspicion"), RejectReason.INVALID_VALUE, "arrest_basis"),
        (with_("event_id", ""), RejectReason.INVALID_VALUE, "event_id"),
        (with_("custody_record_id", "x" * 65), RejectReason.INVALID_VALUE, "custody_record_id"),
        (with_("schema_version", 2), RejectReason.UNSUPPORTED_SCHEMA_VERSION, "schema_version"),
    ],
)
def test_invalid_input_gets_a_stable_reason_and_names_the_field(
    raw: bytes, reason: RejectReason, mentions: str
) -> None:
    outcome = decode(raw)
    assert isinstance(outcome, Reject)
    assert outcome.reason is reason
    assert mentions in outcome.message


def test_extension_limit_is_range_checked() -> None:
    base = {**VALID, "event_type": "detention_extended", "payload": {"new_limit_hours": 24}}
    outcome = decode(json.dumps(base))
    assert isinstance(outcome, Reject)
    assert outcome.reason is RejectReason.INVALID_VALUE
    assert "new_limit_hours" in outcome.message


def test_empty_payload_types_accept_only_an_empty_object() -> None:
    ok = {**VALID, "event_type": "released", "payload": {"disposal": "bail"}}
    assert isinstance(decode(json.dumps(ok)), Released)
    bad = {**VALID, "event_type": "bail_refused", "payload": {"why": "x"}}
    outcome = decode(json.dumps(bad))
    assert isinstance(outcome, Reject) and outcome.reason is RejectReason.UNKNOWN_FIELD


def test_checked_in_schemas_match_the_models() -> None:
    assert drift(ROOT / "schemas") == []


def test_drift_is_detected(tmp_path: Path) -> None:
    for name, schema in generated_schemas().items():
        (tmp_path / name).write_text(json.dumps(schema))  # same content, different layout
    assert sorted(drift(tmp_path)) == sorted(generated_schemas())


def test_json_schema_agrees_with_the_models_on_examples() -> None:
    schema = generated_schemas()["custody-event.v1.schema.json"]
    jsonschema.validate(VALID, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(with_("colour", "red")), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(with_("event_type", "arrested")), schema)
