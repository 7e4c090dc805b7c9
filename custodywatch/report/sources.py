"""Where a report's episodes and alerts come from: JSONL files written by replay
(`--episodes`, `--alerts`), or an events file replayed here (`--events`); and the
runs a what-if compares (`runs_from_events`; `runs_from_summaries` for the store, whose
episodes' events are rebuilt from their summaries: `rebuild.py`).

Errors name the file and line and what was wrong, never the line's content
(it may hold a person's details).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from pydantic import TypeAdapter, ValidationError

from custodywatch.contract.alerts import ALERT_ADAPTER, AlertRecord
from custodywatch.contract.episodes import EPISODE_ADAPTER, EpisodeSummary
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig
from custodywatch.replay import Decoded, decode_file, gc_paused, replay_alerted, summaries_of
from custodywatch.replay_children import decode_children
from custodywatch.report.rebuild import rebuilt_events
from custodywatch.report.whatif import Run

T = TypeVar("T")


class SourceError(Exception):
    """A source cannot be read; the message is one line for a person."""


def read_lines(path: Path) -> list[bytes]:
    try:
        with path.open("rb") as handle:
            return handle.readlines()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None


def _parse(path: Path, lines: Iterable[bytes], adapter: TypeAdapter[T], what: str) -> Iterator[T]:
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            yield adapter.validate_json(raw)
        except ValidationError as exc:
            first = exc.errors(include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "line"
            raise SourceError(f"{path}:{number}: not {what} ({where}: {first['msg']})") from None


def episodes_from(path: Path, lines: Iterable[bytes]) -> list[EpisodeSummary]:
    return list(_parse(path, lines, EPISODE_ADAPTER, "an episode summary"))


def alerts_from(path: Path, lines: Iterable[bytes]) -> list[AlertRecord]:
    return list(_parse(path, lines, ALERT_ADAPTER, "an alert record"))


def summaries_from_events(
    lines: Iterable[bytes] | Decoded, rules: RuleConfig
) -> tuple[list[EpisodeSummary], list[AlertRecord]]:
    """Replay an events file (its lines, or the file decoded) and return its episode
    summaries and standing alerts."""
    with gc_paused():  # the decoded events live until the summaries are made
        decoded = lines if isinstance(lines, Decoded) else decode_file(lines)
        result, summaries = summaries_of(decoded, rules)
        return summaries, list(result.alerts)


def runs_from_events(
    lines: Sequence[bytes], rule_sets: Sequence[RuleConfig], progress: Callable[[str], None]
) -> list[Run]:
    """Decode an events file once and replay it under each rule set (what-if).

    Each run keeps its standing alerts and the summaries of their episodes only."""
    with gc_paused():  # the decoded events live through every run
        progress("decoding the events of the episodes that may be a child's")
        oldest = max(rules.juvenile_age for rules in rule_sets)
        children, end = decode_children(lines, oldest)
        progress(f"{len(children.events):,} events may be a child's, of {children.count:,} lines")
        return _replay_each(children, rule_sets, progress, end)


def runs_from_summaries(
    summaries: Sequence[EpisodeSummary],
    clock: datetime | None,
    rule_sets: Sequence[RuleConfig],
    progress: Callable[[str], None],
) -> list[Run]:
    """The store's history replayed under each rule set: each episode's events rebuilt
    from its summary (made with `rule_sets[0]`, the current rules) and replayed up to
    `clock`, how far the store's history reaches (`store_source.History`)."""
    oldest = max(rules.juvenile_age for rules in rule_sets)
    # As `children_only` for events. A rebuilt episode's age at T0 is the stored one under
    # any time zone (`rebuild.birth_date`), so this is exact.
    children = [
        s for s in summaries if s.juvenile or (s.age_at_t0 is not None and s.age_at_t0 < oldest)
    ]
    with gc_paused():
        progress(f"rebuilding the events of {len(children):,} of {len(summaries):,} episodes")
        ordered = rebuilt_events(children, rule_sets[0])
        # No raw lines: a rebuilt event has no file line to quote (rejects are counted).
        decoded = Decoded([b""] * len(ordered), ordered, (), len(ordered))
        until = None if clock is None else to_us(clock)
        return _replay_each(decoded, rule_sets, progress, until, rebuilt=True)


def _replay_each(
    decoded: Decoded,
    rule_sets: Sequence[RuleConfig],
    progress: Callable[[str], None],
    until: int | None,
    rebuilt: bool = False,
) -> list[Run]:
    runs = []
    for number, rules in enumerate(rule_sets, start=1):
        progress(f"replaying under rule set {number} of {len(rule_sets)}")
        result, summaries = replay_alerted(decoded, rules, until)
        refused = result.reject_counts()
        if rebuilt and refused:  # a rebuilt episode the engine would not take: never hidden
            counts = ", ".join(f"{n:,} {reason}" for reason, n in sorted(refused.items()))
            progress(f"rule set {number}: rebuilt events refused ({counts})")
        runs.append(Run(result.alerts, summaries))
    return runs
