"""Precomputed JSON fragments, so the hot path only concatenates strings.

A line is assembled from five pieces (JSON object key order carries no meaning;
`occurred_at` comes first, in one fixed-width format, so that sorting lines as
text sorts them by time):

    date    {"occurred_at":"2025-04-01T
    time    18:23:07+00:00
    head    ","schema_version":1,"custody_record_id":"<rec>","suite_id":"<suite>","event_id":"<run>-
    seq     <n>
    tail    ","event_type":"<type>","source":"custodywatch-sim","payload":<payload>}\n

Every variable
string that can reach a line is either one of the vocabularies in
`custodywatch.sim.force`, JSON-encoded here once with `json.dumps`, or is built
from characters that never need escaping: digits, ASCII letters, '-', ':', '+'
and 'T' (ids, dates and RFC 3339 timestamps).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from custodywatch.sim import force as f

SOURCE = "custodywatch-sim"


def js(value: object) -> str:
    """Compact JSON, for building the constant fragments."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


EVENT_TYPES: tuple[str, ...] = (
    "detention_authorised",
    "age_established",
    "appropriate_adult_requested",
    "appropriate_adult_arrived",
    "detention_reviewed",
    "detention_extended",
    "charged",
    "bail_refused",
    "la_accommodation_requested",
    "la_accommodation_response",
    "transfer_impracticable_certified",
    "transferred_to_la",
    "transferred_to_suite",
    "released",
)

LINE_START = '{"occurred_at":"'
TIMESTAMP_WIDTH = len("2025-04-01T18:23:07+00:00")
HEAD_START = '","schema_version":1,"custody_record_id":"'
RECORD_ID_AT = len(LINE_START) + TIMESTAMP_WIDTH + len(HEAD_START)
"""Offset of the custody_record_id in every valid line."""
PAYLOAD_OPEN = f',"source":{js(SOURCE)},"payload":'


def head(record_id: str, suite: str, event_prefix: str) -> str:
    """Between the timestamp and the event sequence number (record id and prefix are safe)."""
    return f'{HEAD_START}{record_id}","suite_id":{js(suite)},"event_id":"{event_prefix}'


def type_open(event_type: str) -> str:
    """The start of a tail: '","event_type":"<type>","source":...,"payload":'."""
    return f'","event_type":{js(event_type)}{PAYLOAD_OPEN}'


def tail(event_type: str, payload_json: str) -> str:
    """Everything after the event id, for an event type and its payload."""
    return f"{type_open(event_type)}{payload_json}}}\n"


def line(ts: str, head_text: str, seq: int, tail_text: str) -> str:
    """One JSONL line: the reference form of what the generator inlines."""
    return f"{LINE_START}{ts}{head_text}{seq}{tail_text}"


# Tails of events with constant payloads.
AA_REQUESTED = tail("appropriate_adult_requested", "{}")
AA_ARRIVED = tail("appropriate_adult_arrived", "{}")
BAIL_REFUSED = tail("bail_refused", "{}")
REVIEWED = tail("detention_reviewed", "{}")
REVIEWED_BY_INSPECTOR = tail("detention_reviewed", js({"reviewing_rank": "inspector"}))
REVIEWED_BY_SERGEANT = tail("detention_reviewed", js({"reviewing_rank": "sergeant"}))

DISPOSALS: tuple[str, ...] = (
    "bail",
    "released_under_investigation",
    "no_further_action",
    "out_of_court_disposal",
    "to_court",
    "other",
)
RELEASED: dict[str, str] = {d: tail("released", js({"disposal": d})) for d in DISPOSALS}
EXTENDED: dict[int, str] = {
    h: tail("detention_extended", js({"new_limit_hours": h})) for h in range(25, 97)
}


def charged(offences: Iterable[str]) -> str:
    return tail("charged", js({"offences": list(offences)}))


CHARGED = tail("charged", "{}")
CHARGED_ONE: dict[str, str] = {o: charged([o]) for group in f.OFFENCES.values() for o in group}
CHARGED_TWO: dict[str, str] = {
    cat: charged(group[:2]) for cat, group in f.OFFENCES.items() if len(group) >= 2
}

LA_REQUESTED: dict[tuple[str, str], str] = {
    (la, kind): tail(
        "la_accommodation_requested", js({"local_authority": la, "accommodation_type": kind})
    )
    for la in f.LOCAL_AUTHORITIES
    for kind in ("secure", "non_secure")
}
LA_ACCEPTED: dict[str, str] = {
    la: tail("la_accommodation_response", js({"local_authority": la, "outcome": "accepted"}))
    for la in f.LOCAL_AUTHORITIES
}
LA_REFUSED: dict[tuple[str, str], str] = {
    (la, reason): tail(
        "la_accommodation_response",
        js({"local_authority": la, "outcome": "refused", "reason": reason}),
    )
    for la in f.LOCAL_AUTHORITIES
    for reason in f.LA_REFUSAL_REASONS
}
TO_LA: dict[str, str] = {
    la: tail("transferred_to_la", js({"local_authority": la})) for la in f.LOCAL_AUTHORITIES
}
TO_SUITE: dict[str, str] = {
    s: tail("transferred_to_suite", js({"to_suite_id": s})) for s in f.SUITES
}
IMPRACTICABLE: dict[str, str] = {
    r: tail("transfer_impracticable_certified", js({"reason": r}))
    for r in f.IMPRACTICABLE_REASONS
}


def age_established(dob_json: str) -> str:
    """`dob_json` is a quoted ISO date (digits and '-')."""
    return tail("age_established", '{"date_of_birth":' + dob_json + "}")


JSON_BOOL: dict[bool | None, str] = {True: "true", False: "false", None: "null"}
SEX: dict[str | None, str] = {"male": '"male"', "female": '"female"', None: "null"}
ARREST_BASIS: dict[str, str] = {
    b: js(b) for b in ("new_offence", "warrant", "breach_of_bail", "court_remand", "other")
}
OFFENCE_CATEGORY: dict[str, str] = {c: js(c) for c in f.OFFENCES}
LOCAL_AUTHORITY: dict[str, str] = {la: js(la) for la in f.LOCAL_AUTHORITIES}

AUTHORISED_OPEN = type_open("detention_authorised") + '{"detainee":{"person_ref":"'
"""Tail of `detention_authorised` = this + person_ref + ... (see `authorised_parts`)."""


def authorised_parts(
    appears_under_18: bool | None,
    looked_after: bool | None,
    sex: str | None,
    arrest_basis: str,
    offence_category: str,
    home_la: str,
) -> tuple[str, str]:
    """The two constant parts of a `detention_authorised` tail.

    tail = AUTHORISED_OPEN + person_ref + '","date_of_birth":' + dob_json
           + middle + arrested_at + '","arrived_at":"' + arrived_at + end
    """
    middle = (
        f',"appears_under_18":{JSON_BOOL[appears_under_18]},'
        f'"looked_after_child":{JSON_BOOL[looked_after]},"sex":{SEX[sex]}}},'
        '"arrested_at":"'
    )
    end = (
        f'","arrest_basis":{ARREST_BASIS[arrest_basis]},'
        f'"offence_category":{OFFENCE_CATEGORY[offence_category]},'
        f'"home_local_authority":{LOCAL_AUTHORITY[home_la]}}}}}\n'
    )
    return middle, end


def authorised(
    person_ref: str,
    dob_json: str,
    appears_under_18: bool | None,
    looked_after: bool | None,
    sex: str | None,
    arrested_at: str,
    arrived_at: str,
    arrest_basis: str,
    offence_category: str,
    home_la: str,
) -> str:
    """Tail of `detention_authorised`; `dob_json` is a quoted ISO date or `null`."""
    middle, end = authorised_parts(
        appears_under_18, looked_after, sex, arrest_basis, offence_category, home_la
    )
    return (
        f'{AUTHORISED_OPEN}{person_ref}","date_of_birth":{dob_json}{middle}'
        f'{arrested_at}","arrived_at":"{arrived_at}{end}'
    )
