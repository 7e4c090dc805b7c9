"""One detention episode: the facts the rules need, as times of first occurrence.

Rules ask "did the cancelling event happen at or before the due time?", so the
state keeps *when* things happened (earliest first), not just *whether*. That
makes late evidence (e.g. `age_established` turning an adult into a child)
fire past deadlines correctly, with their original due time.
"""

from __future__ import annotations

import bisect
import sys
from array import array
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from custodywatch.contract import events as ev
from custodywatch.core.clock import local_date, to_us
from custodywatch.core.config import RuleConfig

_NOTHING_FIRED: frozenset[str] = frozenset()

Standing = tuple[str, int, int]
"""A raised alert not yet resolved or retracted: (key, due, raised_at), in microseconds."""
_Sortable = TypeVar(
    "_Sortable",
    int,
    tuple[int, str],
    tuple[int, int],
    tuple[int, str, str],
    tuple[int, bool, str, str],
)
_intern = sys.intern  # vocabularies (suites, LAs, categories): one string for all episodes


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _earliest(current: int | None, at: int) -> int:
    return at if current is None or at < current else current


def _inserted(items: tuple[_Sortable, ...], item: _Sortable) -> tuple[_Sortable, ...]:
    """`items` with `item` in sorted place. Tuples, not lists: most stay empty, and
    one shared empty tuple costs an open episode nothing to create or free."""
    merged = list(items)
    bisect.insort(merged, item)
    return tuple(merged)


class Episode:
    """Mutable state of one open episode. Kept small: many thousands are open at once."""

    __slots__ = (
        "aa_arrived",
        "aa_requested",
        "appears_under_18",
        "arrest_basis",
        "arrested_at",
        "arrived_at",
        "bail_refused",
        "charged",
        "dob",
        "ended",
        "extensions",
        "fired",
        "home_la",
        "impracticable",
        "juvenile",
        "la_requests",
        "la_responses",
        "last_at",
        "looked_after",
        "next_due",
        "offence_category",
        "person_ref",
        "record_id",
        "relevant_time",
        "reviews",
        "rule_due",
        "seen",
        "sex",
        "standing",
        "suites",
        "t0",
        "zone",
    )

    def __init__(
        self,
        record_id: str,
        person_ref: str,
        home_la: str,
        arrest_basis: str,
        zone: str,
        t0: int,
        relevant_time: int,
        suite_id: str,
        offence_category: str,
        arrested_at: int,
        arrived_at: int,
    ) -> None:
        self.record_id = record_id
        self.person_ref = person_ref
        self.home_la = _intern(home_la)
        self.arrest_basis = arrest_basis
        self.offence_category = _intern(offence_category)
        self.zone = zone
        self.t0 = t0
        self.relevant_time = relevant_time
        self.arrested_at = arrested_at
        self.arrived_at = arrived_at
        self.suites: tuple[tuple[int, str], ...] = ((t0, _intern(suite_id)),)
        self.dob: date | None = None
        self.appears_under_18: bool | None = None
        self.sex: str | None = None
        self.looked_after: bool | None = None
        self.juvenile = False
        self.aa_requested: int | None = None
        self.aa_arrived: int | None = None
        self.reviews: tuple[int, ...] = ()
        self.extensions: tuple[tuple[int, int], ...] = ()
        self.charged: int | None = None
        self.bail_refused: int | None = None
        # (requested at, LA, accommodation type) and (responded at, accepted, LA, reason or "").
        self.la_requests: tuple[tuple[int, str, str], ...] = ()
        self.la_responses: tuple[tuple[int, bool, str, str], ...] = ()
        self.impracticable: int | None = None
        # (at, "released", disposal) or (at, "transferred_to_la", LA): set as the episode closes.
        self.ended: tuple[int, str, str] | None = None
        self.fired: frozenset[str] = _NOTHING_FIRED  # alert keys; replaced, never mutated
        self.standing: tuple[Standing, ...] = ()  # raised, not yet resolved or retracted
        self.seen = array("Q")
        self.next_due: int | None = None
        self.last_at = t0  # latest occurred_at applied: when late evidence became known
        # Per rule, the earliest unfired due time; None until the episode is juvenile.
        self.rule_due: list[int | None] | None = None

    @classmethod
    def open(cls, event: ev.DetentionAuthorised, t0: int, rules: RuleConfig) -> Episode:
        """`t0`: the event's occurred_at in microseconds, as the engine has it."""
        p = event.payload
        arrested_at, arrived_at = to_us(p.arrested_at), to_us(p.arrived_at)
        detainee, suite_id = p.detainee, event.suite_id
        ep = cls(  # positional: this runs once per detention
            event.custody_record_id,
            detainee.person_ref,
            p.home_local_authority,
            p.arrest_basis.value,
            rules.time_zones.for_suite(suite_id),
            t0,
            # Usually arrived_at itself: one int object shared by both slots.
            min(arrived_at, arrested_at + rules.detention_limit.arrival_cap),
            suite_id,
            p.offence_category,
            arrested_at,
            arrived_at,
        )
        ep.dob = detainee.date_of_birth
        ep.appears_under_18 = detainee.appears_under_18
        ep.looked_after = detainee.looked_after_child
        if detainee.sex is not None:
            ep.sex = _intern(detainee.sex)
        ep.recompute_juvenile(rules)
        return ep

    # --- facts -----------------------------------------------------------

    def age_at_t0(self) -> int | None:
        return None if self.dob is None else age_on(self.dob, local_date(self.t0, self.zone))

    def recompute_juvenile(self, rules: RuleConfig) -> None:
        age = self.age_at_t0()
        self.juvenile = self.appears_under_18 is True if age is None else age < rules.juvenile_age

    def suite_at(self, at: int) -> str:
        index = bisect.bisect_right(self.suites, (at, "\U0010ffff")) - 1
        return self.suites[max(index, 0)][1]

    @property
    def suite_id(self) -> str:
        return self.suites[-1][1]

    # --- snapshot --------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "person_ref": self.person_ref,
            "home_la": self.home_la,
            "arrest_basis": self.arrest_basis,
            "offence_category": self.offence_category,
            "zone": self.zone,
            "t0": self.t0,
            "relevant_time": self.relevant_time,
            "arrested_at": self.arrested_at,
            "arrived_at": self.arrived_at,
            "suites": [list(s) for s in self.suites],
            "dob": self.dob.isoformat() if self.dob else None,
            "appears_under_18": self.appears_under_18,
            "sex": self.sex,
            "looked_after": self.looked_after,
            "juvenile": self.juvenile,
            "aa_requested": self.aa_requested,
            "aa_arrived": self.aa_arrived,
            "reviews": list(self.reviews),
            "extensions": [list(x) for x in self.extensions],
            "charged": self.charged,
            "bail_refused": self.bail_refused,
            "la_requests": [list(x) for x in self.la_requests],
            "la_responses": [list(x) for x in self.la_responses],
            "impracticable": self.impracticable,
            "ended": list(self.ended) if self.ended else None,
            "last_at": self.last_at,
            "fired": sorted(self.fired),
            "standing": [list(x) for x in self.standing],
            "seen": list(self.seen),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Episode:
        _, first_suite = data["suites"][0]
        ep = cls(
            record_id=data["record_id"],
            person_ref=data["person_ref"],
            home_la=data["home_la"],
            arrest_basis=data["arrest_basis"],
            zone=data["zone"],
            t0=data["t0"],
            relevant_time=data["relevant_time"],
            suite_id=first_suite,
            offence_category=data["offence_category"],
            arrested_at=data["arrested_at"],
            arrived_at=data["arrived_at"],
        )
        ep.suites = tuple((int(t), _intern(s)) for t, s in data["suites"])
        ep.dob = date.fromisoformat(data["dob"]) if data["dob"] else None
        ep.appears_under_18 = data["appears_under_18"]
        ep.sex = None if data["sex"] is None else _intern(data["sex"])
        ep.looked_after = data["looked_after"]
        ep.juvenile = data["juvenile"]
        ep.aa_requested = data["aa_requested"]
        ep.aa_arrived = data["aa_arrived"]
        ep.reviews = tuple(data["reviews"])
        ep.extensions = tuple((int(t), int(h)) for t, h in data["extensions"])
        ep.charged = data["charged"]
        ep.bail_refused = data["bail_refused"]
        ep.la_requests = tuple(
            (int(t), _intern(la), _intern(kind)) for t, la, kind in data["la_requests"]
        )
        ep.la_responses = tuple(
            (int(t), bool(ok), _intern(la), str(why)) for t, ok, la, why in data["la_responses"]
        )
        ep.impracticable = data["impracticable"]
        ended = data["ended"]
        ep.ended = None if ended is None else (int(ended[0]), str(ended[1]), _intern(ended[2]))
        ep.last_at = data["last_at"]
        ep.fired = frozenset(data["fired"])
        ep.standing = tuple((str(k), int(d), int(r)) for k, d, r in data.get("standing", ()))
        ep.seen = array("Q", data["seen"])
        return ep


# --- one recorder per event type that changes facts (dict dispatch: the hot path) ---
# Each is called with an already validated, non-duplicate event; `at` is its
# occurred_at in microseconds.
# detention_authorised opens and released / transferred_to_la close an episode
# (the engine does that); the two closing events record how it ended.


def _age_established(ep: Episode, event: Any, at: int, rules: RuleConfig) -> None:
    ep.dob = event.payload.date_of_birth
    ep.recompute_juvenile(rules)


def _aa_requested(ep: Episode, event: Any, at: int, rules: RuleConfig) -> None:
    ep.aa_requested = _earliest(ep.aa_requested, at)


def _aa_arrived(ep: Episode, event: Any, at: int, rules: RuleConfig) -> None:
    ep.aa_arrived = _earliest(ep.aa_arrived, at)


def _reviewed(ep: Episode, event: Any, at: int, rules: RuleConfig) -> None:
    ep.reviews = _inserted(ep.reviews, at)


def _extended(ep: Episode, event: Any, at: int, rules: RuleConfig) -> None:
    ep.extensions = _inserted(ep.extensions, (at, event.payload.new_limit_hours))


def _charged(ep: Episode, event: Any, at: int, rules: RuleConfig) -> None:
    ep.charged = _earliest(ep.charged, at)


def _bail_refused(ep: Episode, event: Any, at: int, rules: RuleConfig) -> None:
    ep.bail_refused = _earliest(ep.bail_refused, at)


def _la_requested(ep: Episode, event: Any, at: int, rules: RuleConfig) -> None:
    p = event.payload
    request = (at, _intern(p.local_authority), _intern(p.accommodation_type))
    ep.la_requests = _inserted(ep.la_requests, request)


def _la_response(ep: Episode, event: Any, at: int, rules: RuleConfig) -> None:
    p = event.payload
    # "" for no reason: None would not sort against a string on a tie.
    response = (at, p.outcome == "accepted", _intern(p.local_authority), p.reason or "")
    ep.la_responses = _inserted(ep.la_responses, response)


def _impracticable(ep: Episode, event: Any, at: int, rules: RuleConfig) -> None:
    ep.impracticable = _earliest(ep.impracticable, at)


def _to_suite(ep: Episode, event: Any, at: int, rules: RuleConfig) -> None:
    ep.suites = _inserted(ep.suites, (at, _intern(event.payload.to_suite_id)))


def _released(ep: Episode, event: Any, at: int, rules: RuleConfig) -> None:
    ep.ended = (at, "released", event.payload.disposal.value)


def _to_la(ep: Episode, event: Any, at: int, rules: RuleConfig) -> None:
    ep.ended = (at, "transferred_to_la", _intern(event.payload.local_authority))


RECORDERS: dict[str, Callable[[Episode, Any, int, RuleConfig], None]] = {
    "age_established": _age_established,
    "appropriate_adult_requested": _aa_requested,
    "appropriate_adult_arrived": _aa_arrived,
    "detention_reviewed": _reviewed,
    "detention_extended": _extended,
    "charged": _charged,
    "bail_refused": _bail_refused,
    "la_accommodation_requested": _la_requested,
    "la_accommodation_response": _la_response,
    "transfer_impracticable_certified": _impracticable,
    "transferred_to_suite": _to_suite,
    "released": _released,
    "transferred_to_la": _to_la,
}
