"""Precomputed JSON fragments, so the hot path only concatenates strings.

A line is assembled from four pieces (JSON object key order carries no
meaning; `occurred_at` comes first, in one fixed-width format, so that sorting
lines as text sorts them by time):

    date    {"occurred_at":"2025-04-01T
    time    18:23:07+00:00
    head    ","schema_version":1,"custody_record_id":"<rec>","suite_id":"<suite>","event_id":"<rec>/
    tail    <id>","event_type":"<type>","source":"custodywatch-sim","payload":<payload>}\\n

An event id is the record id, '/', and a short name unique within the episode
(`EVENT_ID_NAMES`), e.g. `CR-1-42/v2` for the second review of record `CR-1-42`.

Every variable string that can reach a line is either one of the vocabularies in
`custodywatch.sim.force`, JSON-encoded here once with `json.dumps`, or is built
from characters that never need escaping: digits, ASCII letters, '-', '/', ':',
'+' and 'T' (ids, dates and RFC 3339 timestamps).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache

from custodywatch.sim import force as f

SOURCE = "custodywatch-sim"


def js(value: object) -> str:
    """Compact JSON, for building the constant fragments."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@cache
def jsc(text: str) -> str:
    """A JSON string literal, cached (vocabulary strings recur)."""
    return js(text)


EVENT_ID_NAMES: dict[str, str] = {
    "detention_authorised": "a",
    "age_established": "g",
    "appropriate_adult_requested": "q",
    "appropriate_adult_arrived": "r",
    "detention_reviewed": "v<n>",
    "detention_extended": "e<n>",
    "charged": "c",
    "bail_refused": "b",
    "la_accommodation_requested": "l<n>",
    "la_accommodation_response": "s<n>",
    "transfer_impracticable_certified": "i",
    "transferred_to_suite": "t",
    "transferred_to_la": "z",
    "released": "z",
}
"""Event id suffixes by type (<n>: 1, 2, ... within the episode); 'bad<n>' for mistakes."""

LINE_START = '{"occurred_at":"'
TIMESTAMP_WIDTH = len("2025-04-01T18:23:07+00:00")
HEAD_START = '","schema_version":1,"custody_record_id":"'
RECORD_ID_AT = len(LINE_START) + TIMESTAMP_WIDTH + len(HEAD_START)
"""Offset of the custody_record_id in every valid line."""
PAYLOAD_OPEN = f',"source":{js(SOURCE)},"payload":'
MAX_NUMBERED = 40  # tables of numbered tails (reviews...) go this far; beyond, built on demand


def head(record_id: str, suite: str) -> str:
    """Between the timestamp and the event id's name (the record id is safe)."""
    return f"{HEAD_START}{record_id}{suite_part(suite)}{record_id}/"


@cache
def suite_part(suite: str) -> str:
    """'","suite_id":"<suite>","event_id":"': `head` without the record ids (one object per suite)."""
    return f'","suite_id":{js(suite)},"event_id":"'


def type_open(event_type: str) -> str:
    """'","event_type":"<type>","source":...,"payload":'."""
    return f'","event_type":{js(event_type)}{PAYLOAD_OPEN}'


def tail(name: str, event_type: str, payload_json: str) -> str:
    """Everything after the head: event id name, type, payload, end of line."""
    return f"{name}{type_open(event_type)}{payload_json}}}\n"


def line(ts: str, head_text: str, tail_text: str) -> str:
    """One JSONL line: the reference form of what the generator inlines."""
    return f"{LINE_START}{ts}{head_text}{tail_text}"


# Tails of events with constant payloads.
AA_REQUESTED = tail("q", "appropriate_adult_requested", "{}")
AA_ARRIVED = tail("r", "appropriate_adult_arrived", "{}")
BAIL_REFUSED = tail("b", "bail_refused", "{}")

_INSPECTOR = js({"reviewing_rank": "inspector"})
_SERGEANT = js({"reviewing_rank": "sergeant"})


def reviewed(n: int, payload_json: str = _INSPECTOR) -> str:
    return tail(f"v{n}", "detention_reviewed", payload_json)


# Index n (1-based; [0] unused) -> tail of the n-th review.
REVIEWED: tuple[str, ...] = tuple(reviewed(n, "{}") for n in range(MAX_NUMBERED + 1))
REVIEWED_BY_INSPECTOR: tuple[str, ...] = tuple(reviewed(n) for n in range(MAX_NUMBERED + 1))
REVIEWED_BY_SERGEANT: tuple[str, ...] = tuple(
    reviewed(n, _SERGEANT) for n in range(MAX_NUMBERED + 1)
)

DISPOSALS: tuple[str, ...] = (
    "bail",
    "released_under_investigation",
    "no_further_action",
    "out_of_court_disposal",
    "to_court",
    "other",
)
RELEASED: dict[str, str] = {d: tail("z", "released", js({"disposal": d})) for d in DISPOSALS}
EXTENDED: dict[tuple[int, int], str] = {
    (hours, n): tail(f"e{n}", "detention_extended", js({"new_limit_hours": hours}))
    for hours in range(25, 97)
    for n in (1, 2)
}


def charged(offences: Iterable[str]) -> str:
    return tail("c", "charged", js({"offences": list(offences)}))


CHARGED = tail("c", "charged", "{}")
CHARGED_ONE: dict[str, str] = {o: charged([o]) for group in f.OFFENCES.values() for o in group}
CHARGED_TWO: dict[str, str] = {
    cat: charged(group[:2]) for cat, group in f.OFFENCES.items() if len(group) >= 2
}

# Tails that name a local authority or a suite: cached functions, so that any
# force (any vocabulary) works.


@cache
def la_requested(la: str, kind: str, n: int) -> str:
    payload = js({"local_authority": la, "accommodation_type": kind})
    return tail(f"l{n}", "la_accommodation_requested", payload)


@cache
def la_accepted(la: str, n: int) -> str:
    payload = js({"local_authority": la, "outcome": "accepted"})
    return tail(f"s{n}", "la_accommodation_response", payload)


@cache
def la_refused(la: str, reason: str, n: int) -> str:
    payload = js({"local_authority": la, "outcome": "refused", "reason": reason})
    return tail(f"s{n}", "la_accommodation_response", payload)


@cache
def transferred_to_la(la: str) -> str:
    return tail("z", "transferred_to_la", js({"local_authority": la}))


@cache
def transferred_to_suite(suite: str) -> str:
    return tail("t", "transferred_to_suite", js({"to_suite_id": suite}))


IMPRACTICABLE: dict[str, str] = {
    r: tail("i", "transfer_impracticable_certified", js({"reason": r}))
    for r in f.IMPRACTICABLE_REASONS
}


def age_established(dob_json: str) -> str:
    """`dob_json` is a quoted ISO date (digits and '-')."""
    return tail("g", "age_established", '{"date_of_birth":' + dob_json + "}")


JSON_BOOL: dict[bool | None, str] = {True: "true", False: "false", None: "null"}
SEX: dict[str | None, str] = {"male": '"male"', "female": '"female"', None: "null"}


AUTHORISED_OPEN = "a" + type_open("detention_authorised") + '{"detainee":{"person_ref":"'
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
        f'","arrest_basis":{jsc(arrest_basis)},'
        f'"offence_category":{jsc(offence_category)},'
        f'"home_local_authority":{jsc(home_la)}}}}}\n'
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
