"""Live mode: a partition receiving a backdated upload fires only up to the upload's
frontier until the upload is quiet (stream/upload_hold.py), and the engine honours it."""

from __future__ import annotations

from builders import Episode

from custodywatch.contract.events import CustodyEvent
from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.clock import iso, to_us
from custodywatch.core.config import RuleConfig
from custodywatch.core.engine import Engine
from custodywatch.stream.upload_hold import UploadHold

S = 1_000_000
LATE = 900 * S
QUIET = 30 * S
NOW = to_us(Episode("X", "2026-03-02T21:00:00+00:00").t0)


def test_events_sent_on_time_never_hold() -> None:
    hold = UploadHold(LATE, QUIET)
    hold.observe(NOW - 60 * S, NOW)  # recorded a minute late: an ordinary late entry
    hold.observe(NOW - LATE, NOW)  # exactly the threshold is not an upload
    assert not hold.holding(NOW)
    assert hold.fire_limit(NOW) == NOW


def test_an_upload_holds_firing_at_its_latest_occurred_at_until_quiet() -> None:
    hold = UploadHold(LATE, QUIET)
    hold.observe(NOW - 7 * 3600 * S, NOW)
    hold.observe(NOW - 6 * 3600 * S, NOW + 1 * S)
    assert hold.fire_limit(NOW + 1 * S) == NOW - 6 * 3600 * S
    # Back in time (a second upload after the first): its deadlines wait for its events.
    hold.observe(NOW - 6 * 3600 * S - 1800 * S, NOW + 2 * S)
    assert hold.fire_limit(NOW + 3 * S) == NOW - 6 * 3600 * S - 1800 * S
    assert hold.ends_at() == NOW + 2 * S + QUIET
    assert hold.holding(NOW + 2 * S + QUIET - 1)
    assert hold.fire_limit(NOW + 2 * S + QUIET) == NOW + 2 * S + QUIET  # quiet: the wall clock


def test_a_later_upload_starts_from_its_own_frontier() -> None:
    hold = UploadHold(LATE, QUIET)
    hold.observe(NOW - 2 * 3600 * S, NOW)
    later = NOW + 3600 * S
    assert not hold.holding(later)
    hold.observe(later - 5 * 3600 * S, later)
    assert hold.fire_limit(later) == later - 5 * 3600 * S


def test_a_quiet_of_zero_turns_the_hold_off() -> None:
    hold = UploadHold(LATE, 0)
    hold.observe(NOW - 7 * 3600 * S, NOW)
    assert hold.fire_limit(NOW) == NOW
    assert hold.ends_at() is None


def _events(episode: Episode) -> list[CustodyEvent]:
    events: list[CustodyEvent] = []
    for line in episode.lines():
        event = decode(line)
        assert not isinstance(event, Reject), event
        events.append(event)
    return events


def _upload(quiet_us: int) -> list[str]:
    """A child detained seven hours ago: the custody system uploads its request now, and
    the appropriate adult's arrival (30 min after the request) two seconds later."""
    child = Episode("UP", "2026-03-02T14:00:00+00:00", dob="2011-01-01")
    child.at("+10m", "appropriate_adult_requested").at("+40m", "appropriate_adult_arrived")
    opening, request, arrival = _events(child)
    engine, hold = Engine(RuleConfig()), UploadHold(LATE, quiet_us)
    states: list[str] = []
    for event, sent in ((opening, NOW), (request, NOW), (arrival, NOW + 2 * S)):
        # Caught up between events, the worker fires what the hold allows at each moment.
        states += [a.alert_id + ":" + a.state for a in engine.advance(hold.fire_limit(sent))]
        alerts, outcome = engine.process(event, now=sent, fire_until=hold.fire_limit(sent))
        assert not isinstance(outcome, Reject)
        states += [a.alert_id + ":" + a.state for a in alerts]
        hold.observe(to_us(event.occurred_at), sent)
    return states


def test_an_upload_does_not_page_for_a_deadline_its_next_events_cancel() -> None:
    # Caught up after the opening, the request's and arrival's deadlines were long past.
    assert _upload(QUIET) == []


def test_without_the_hold_the_same_upload_raises_and_retracts() -> None:
    # The case the hold is for: paged, then un-paged a moment later.
    states = _upload(0)
    for stage in ("not_requested", "not_arrived"):
        mine = [s for s in states if s.startswith(f"UP/appropriate_adult/{stage}:")]
        assert mine == [
            f"UP/appropriate_adult/{stage}:raised",
            f"UP/appropriate_adult/{stage}:retracted",
        ]


def test_what_still_stands_fires_when_the_upload_is_quiet() -> None:
    child = Episode("ST", "2026-03-02T14:00:00+00:00", dob="2011-01-01")
    (opening,) = _events(child)
    engine, hold = Engine(RuleConfig()), UploadHold(LATE, QUIET)
    alerts, _ = engine.process(opening, now=NOW, fire_until=hold.fire_limit(NOW))
    hold.observe(to_us(child.t0), NOW)
    assert alerts == [] and engine.advance(hold.fire_limit(NOW + QUIET - 1)) == []
    quiet = NOW + QUIET
    fired = engine.advance(hold.fire_limit(quiet), raised_at=quiet)
    assert "ST/appropriate_adult/not_requested" in {a.alert_id for a in fired}
    assert {a.raised_at for a in fired} == {iso(quiet)}  # raised when it was, honestly
