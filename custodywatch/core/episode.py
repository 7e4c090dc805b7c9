"""One detention episode: the facts the rules need, as times of first occurrence.

Rules ask "did the cancelling event happen at or before the due time?", so the
state keeps *when* things happened (earliest first), not just *whether*. That
makes late evidence (e.g. `age_established` turning an adult into a child)
fire past deadlines correctly, with their original due time.
"""

from __future__ import annotations

import bisect
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
_Sortable = TypeVar("_Sortable", int, tuple[int, str], tuple[int, int], tuple[int, bool, str])


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
        "bail_refused",
        "charged",
        "dob",
        "extensions",
        "fired",
        "home_la",
        "impracticable",
        "juvenile",
        "la_requests",
        "la_responses",
        "last_at",
        "next_due",
        "person_ref",
        "record_id",
        "relevant_time",
        "reviews",
        "rule_due",
        "seen",
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
    ) -> None:
        self.record_id = record_id
        self.person_ref = person_ref
        self.home_la = home_la
        self.arrest_basis = arrest_basis
        self.zone = zone
        self.t0 = t0
        self.relevant_time = relevant_time
        self.suites: tuple[tuple[int, str], ...] = ((t0, suite_id),)
        self.dob: date | None = None
        self.appears_under_18: bool | None = None
        self.juvenile = False
        self.aa_requested: int | None = None
        self.aa_arrived: int | None = None
        self.reviews: tuple[int, ...] = ()
        self.extensions: tuple[tuple[int, int], ...] = ()
        self.charged: int | None = None
        self.bail_refused: int | None = None
        self.la_requests: tuple[tuple[int, str], ...] = ()
        self.la_responses: tuple[tuple[int, bool, str], ...] = ()
        self.impracticable: int | None = None
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
        cap = to_us(p.arrested_at) + rules.detention_limit.arrival_cap
        detainee, suite_id = p.detainee, event.suite_id
        ep = cls(  # positional: this runs once per detention
            event.custody_record_id,
            detainee.person_ref,
            p.home_local_authority,
            p.arrest_basis.value,
            rules.time_zones.for_suite(suite_id),
            t0,
            min(to_us(p.arrived_at), cap),
            suite_id,
        )
        ep.dob = detainee.date_of_birth
        ep.appears_under_18 = detainee.appears_under_18
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
            "zone": self.zone,
            "t0": self.t0,
            "relevant_time": self.relevant_time,
            "suites": [list(s) for s in self.suites],
            "dob": self.dob.isoformat() if self.dob else None,
            "appears_under_18": self.appears_under_18,
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
        )
        ep.suites = tuple((int(t), str(s)) for t, s in data["suites"])
        ep.dob = date.fromisoformat(data["dob"]) if data["dob"] else None
        ep.appears_under_18 = data["appears_under_18"]
        ep.juvenile = data["juvenile"]
        ep.aa_requested = data["aa_requested"]
        ep.aa_arrived = data["aa_arrived"]
        ep.reviews = tuple(data["reviews"])
        ep.extensions = tuple((int(t), int(h)) for t, h in data["extensions"])
        ep.charged = data["charged"]
        ep.bail_refused = data["bail_refused"]
        ep.la_requests = tuple((int(t), str(la)) for t, la in data["la_requests"])
        ep.la_responses = tuple((int(t), bool(ok), str(la)) for t, ok, la in data["la_responses"])
        ep.impracticable = data["impracticable"]
        ep.last_at = data["last_at"]
        ep.fired = frozenset(data["fired"])
        ep.standing = tuple((str(k), int(d), int(r)) for k, d, r in data.get("standing", ()))
        ep.seen = array("Q", data["seen"])
        return ep


# --- one recorder per event type that changes facts (dict dispatch: the hot path) ---
# Each is called with an already validated, non-duplicate event; `at` is its
# occurred_at in microseconds.
# detention_authorised opens and released / transferred_to_la close an episode:
# the engine handles those; they change no facts here.


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
    ep.la_requests = _inserted(ep.la_requests, (at, event.payload.local_authority))


def _la_response(ep: Episode, event: Any, at: int, rules: RuleConfig) -> None:
    p = event.payload
    ep.la_responses = _inserted(ep.la_responses, (at, p.outcome == "accepted", p.local_authority))


def _impracticable(ep: Episode, event: Any, at: int, rules: RuleConfig) -> None:
    ep.impracticable = _earliest(ep.impracticable, at)


def _to_suite(ep: Episode, event: Any, at: int, rules: RuleConfig) -> None:
    ep.suites = _inserted(ep.suites, (at, event.payload.to_suite_id))


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
}
