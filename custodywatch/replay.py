"""`custodywatch replay`: the core engine in event time over a JSONL file.

Events are applied in `occurred_at` order (file order breaks ties). Before an
event at time t the clock advances to just before t, so an event exactly at a
due time cancels that deadline; at the end the clock moves to `until`
(inclusive). The output is the alerts that stand (raised and not retracted,
as raised), ordered by (due_at, alert_id), so it does not depend on the order
in which alerts happened to be raised; the full history (every raised,
resolved and retracted record, in the order the engine emitted them) is kept too.
`replay_summaries` also gives the final summary of every episode, as of that
end, by custody_record_id. `decode_file` parses a file once so that
`replay_decoded` / `replay_alerted` can replay it under several rule sets (what-if).
"""

from __future__ import annotations

import base64
import gc
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from custodywatch.contract.alerts import AlertRecord
from custodywatch.contract.episodes import EPISODE_ADAPTER, EpisodeSummary
from custodywatch.contract.events import CustodyEvent
from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig
from custodywatch.core.engine import Engine, Outcome
from custodywatch.core.episode import age_on


@dataclass(frozen=True, slots=True)
class RejectedLine:
    line: int
    reject: Reject
    raw: bytes

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "line": self.line,
            "reason": self.reject.reason.value,
            "message": self.reject.message,
        }
        try:
            out["raw"] = self.raw.decode("utf-8")
        except UnicodeDecodeError:
            out["raw_base64"] = base64.b64encode(self.raw).decode("ascii")
        return out


@dataclass
class ReplayResult:
    history: list[AlertRecord] = field(default_factory=list)
    """Every alert record in the order the engine emitted it."""
    rejects: list[RejectedLine] = field(default_factory=list)
    events: int = 0
    duplicates: int = 0
    after_until: int = 0
    end: int | None = None
    """The time the clock was advanced to at the end (`until`, or the latest event)."""

    @property
    def alerts(self) -> list[AlertRecord]:
        """The alerts that stand: raised and not retracted, by (due_at, alert_id)."""
        return standing(self.history)

    def reject_counts(self) -> Counter[str]:
        return Counter(r.reject.reason.value for r in self.rejects)


def standing(history: Iterable[AlertRecord]) -> list[AlertRecord]:
    """The raised records of alerts that were not retracted, by (due_at, alert_id).

    This is what replay prints, and what the alerts topic folds to, whatever
    interleaving of late evidence produced it.
    """
    raised: dict[str, AlertRecord] = {}
    retracted: set[str] = set()
    for record in history:
        if record.state == "raised":
            raised.setdefault(record.alert_id, record)
        elif record.state == "retracted":
            retracted.add(record.alert_id)
    return sorted((a for a in raised.values() if a.alert_id not in retracted), key=alert_order)


def decode_lines(
    lines: Iterable[bytes], result: ReplayResult
) -> list[tuple[int, int, CustodyEvent]]:
    """Parse every line; keep (occurred_at, line number, event) for valid ones."""
    decoded: list[tuple[int, int, CustodyEvent]] = []
    for number, raw in enumerate(lines, start=1):
        if raw.isspace() or not raw:  # blank (no copy made, unlike strip())
            continue
        result.events += 1
        outcome = decode(raw)  # JSON allows the line's own newline
        if isinstance(outcome, Reject):
            result.rejects.append(RejectedLine(number, outcome, raw.rstrip(b"\r\n")))
        else:
            decoded.append((to_us(outcome.occurred_at), number, outcome))
    return decoded


def run(
    engine: Engine,
    ordered: Iterable[tuple[int, int, CustodyEvent]],
    raw_of: Callable[[int], bytes],
    result: ReplayResult,
    until: int | None,
    progress: Any = None,
) -> None:
    """Drive the engine in event time and collect alerts and semantic rejects."""
    latest: int | None = None
    for at, number, event in ordered:
        if until is not None and at > until:
            result.after_until += 1  # --until is a cut-off: later events are not applied
            continue
        alerts, outcome = engine.process(event)
        result.history.extend(alerts)
        if isinstance(outcome, Reject):
            result.rejects.append(RejectedLine(number, outcome, raw_of(number)))
        elif outcome is Outcome.DUPLICATE:
            result.duplicates += 1
        latest = at if latest is None else max(latest, at)
        if progress is not None:
            progress.update(1)
    end = until if until is not None else latest
    result.end = end
    if end is not None:
        result.history.extend(engine.advance(end, inclusive=True))
    result.rejects.sort(key=lambda r: r.line)


@contextmanager
def gc_paused() -> Iterator[None]:
    """A whole file's events stay alive until the replay ends: about a million acyclic
    objects for ten months. The cyclic collector would rescan them again and again as
    they pile up (decoding ten months: 7.9 s CPU with it, 2.7 s without)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True, slots=True)
class Decoded:
    """An events file parsed once, ready to replay under any number of rule sets."""

    raw: list[bytes]
    """The file's lines as read (a line's newline is stripped where it is quoted)."""
    events: list[tuple[int, int, CustodyEvent]]
    """(occurred_at, line number, event) of the valid lines, in replay order."""
    rejects: tuple[RejectedLine, ...]
    count: int
    """Non-blank lines."""

    def line(self, number: int) -> bytes:
        """Line `number` (from 1) without its newline, as a reject quotes it."""
        return self.raw[number - 1].rstrip(b"\r\n")


def decode_file(lines: Iterable[bytes]) -> Decoded:
    result = ReplayResult()
    with gc_paused():
        raw_lines = lines if isinstance(lines, list) else list(lines)
        decoded = decode_lines(raw_lines, result)
        decoded.sort()  # by (occurred_at, line number): line numbers are unique
    return Decoded(raw_lines, decoded, tuple(result.rejects), result.events)


def replay_decoded(
    engine: Engine, decoded: Decoded, until: int | None = None, progress: Any = None
) -> ReplayResult:
    """Drive `engine` over decoded events; each call gets its own result."""
    result = ReplayResult(rejects=list(decoded.rejects), events=decoded.count)
    with gc_paused():
        run(engine, decoded.events, decoded.line, result, until, progress)
    return result


def replay_lines(
    lines: Iterable[bytes], rules: RuleConfig, until: int | None = None, progress: Any = None
) -> ReplayResult:
    return replay_decoded(Engine(rules), decode_file(lines), until, progress)


def replay_summaries(
    lines: Iterable[bytes], rules: RuleConfig, until: int | None = None, progress: Any = None
) -> tuple[ReplayResult, list[EpisodeSummary]]:
    """Replay, then the final summary of every episode (open ones as of the end),
    sorted by custody_record_id: what the compacted episodes topic would hold."""
    return summaries_of(decode_file(lines), rules, until, progress)


def summaries_of(
    decoded: Decoded, rules: RuleConfig, until: int | None = None, progress: Any = None
) -> tuple[ReplayResult, list[EpisodeSummary]]:
    """`replay_summaries` of a file already decoded."""
    engine = Engine(rules, keep_ended=True)
    result = replay_decoded(engine, decoded, until, progress)
    rids = sorted({*engine.episodes, *engine.ended})
    with gc_paused():
        return result, engine.episode_summaries(rids, as_of=result.end)


def replay_alerted(
    decoded: Decoded, rules: RuleConfig, until: int | None = None, progress: Any = None
) -> tuple[ReplayResult, list[EpisodeSummary]]:
    """Replay decoded events; the summaries of the episodes with a standing alert only,
    by custody_record_id (what-if needs no others, and summaries cost time)."""
    engine = Engine(rules, keep_ended=True)
    result = replay_decoded(engine, decoded, until, progress)
    rids = sorted({a.custody_record_id for a in result.alerts})
    return result, engine.episode_summaries(rids, as_of=result.end)


def may_be_a_child(event: CustodyEvent, juvenile_age: int) -> bool:
    """False only for an event that cannot make its episode a child's under rules whose
    `juvenile_age` is at most `juvenile_age`, whatever their time zones."""
    if event.event_type == "age_established":
        return True  # late evidence: decided by the engine
    if event.event_type != "detention_authorised":
        return False
    detainee = event.payload.detainee
    born = detainee.date_of_birth
    if born is None:
        return detainee.appears_under_18 is True
    # T0's local date is within a day of its UTC date in every zone; age only grows.
    return age_on(born, event.occurred_at.date() - timedelta(days=1)) < juvenile_age


def children_only(decoded: Decoded, juvenile_age: int) -> tuple[Decoded, int | None]:
    """The events of the episodes that may be a child's (rules with `juvenile_age` at
    most this), and the time a replay of every event would end at.

    Rules apply to children only and episodes are independent, so a replay of these
    events raises exactly the alerts of the whole file (other episodes' events only move
    the clock, which fires the same deadlines at the next event or at the end). What-if
    replays this part, about a tenth of the events."""
    records = {
        event.custody_record_id
        for _, _, event in decoded.events
        if may_be_a_child(event, juvenile_age)
    }
    kept = [item for item in decoded.events if item[2].custody_record_id in records]
    end = decoded.events[-1][0] if decoded.events else None
    return Decoded(decoded.raw, kept, decoded.rejects, decoded.count), end


def alert_order(alert: AlertRecord) -> tuple[datetime, str]:
    """(due_at, alert_id) by instant, not by text: '...00.5Z' sorts after '...00Z'."""
    return datetime.fromisoformat(alert.due_at), alert.alert_id


def write_jsonl(records: Iterable[dict[str, Any]], out: IO[str]) -> None:
    for record in records:
        out.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False))
        out.write("\n")


def alert_dicts(alerts: Iterable[AlertRecord]) -> Iterator[dict[str, Any]]:
    return (a.to_dict() for a in alerts)


def episode_dicts(summaries: Iterable[EpisodeSummary]) -> Iterator[dict[str, Any]]:
    return (EPISODE_ADAPTER.dump_python(s, mode="json") for s in summaries)
