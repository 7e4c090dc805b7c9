"""`report --events FILE --jobs N`: the replay in N forked worker processes, merged.

The file's lines are read once; the collector is frozen (so that it never writes to the
pages the workers share) and N processes are forked, each replaying its share of the
episodes (`shares.py`). Two phases, because the replay's end (the latest valid event of
the WHOLE file: the clock advances to it, and open episodes are summarised as of it) is
known to no one worker: each validates its lines and sends the time of its latest valid
event; the parent sends every worker the latest of those; each replays up to it and
sends back its summaries and standing alerts (pickled over a pipe). Merged by
custody_record_id and by (due_at, alert_id), both unique, they are the one-process lists
exactly, in the same order.

A worker that fails, or dies, ends the command with one line saying so (`ReplayFailedError`),
every other worker killed and every worker reaped. Ctrl-C reaches the whole process
group: the workers die of it at once (default action), and the parent, once it has
reaped them, raises KeyboardInterrupt as ever. A parent killed outright leaves workers
that end by themselves at their next read or write of a pipe.
"""

from __future__ import annotations

import copyreg
import gc
import heapq
import os
import pickle
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields
from typing import IO, Any

from custodywatch.contract.alerts import AlertRecord
from custodywatch.contract.episodes import (
    EpisodeSummary,
    Extension,
    LaRequest,
    LaResponse,
    NextDeadline,
    Night,
    SuiteStay,
)
from custodywatch.core.config import RuleConfig
from custodywatch.replay import ReplayResult, alert_order, summaries_of
from custodywatch.report.shares import Shares, decode_share, split

MAX_JOBS = 4


class ReplayFailedError(Exception):
    """A worker failed or died; the message is one line for a person."""


@dataclass(frozen=True, slots=True)
class Part:
    """What the report takes from a replay: summaries by custody_record_id, standing
    alerts by (due_at, alert_id), and counts for the progress line."""

    summaries: list[EpisodeSummary]
    alerts: list[AlertRecord]
    rejects: Counter[str]
    duplicates: int

    @classmethod
    def of(cls, result: ReplayResult, summaries: list[EpisodeSummary]) -> Part:
        return cls(summaries, result.alerts, result.reject_counts(), result.duplicates)


def default_jobs() -> int:
    """The CPUs this process may run on, at most MAX_JOBS (more cost memory, gain little)."""
    return max(1, min(MAX_JOBS, len(os.sched_getaffinity(0))))


def merge(parts: list[Part]) -> Part:
    """The workers' parts as one replay's: each part is sorted, and the keys are unique."""
    summaries = heapq.merge(*(p.summaries for p in parts), key=lambda s: s.custody_record_id)
    alerts = heapq.merge(*(p.alerts for p in parts), key=alert_order)
    rejects: Counter[str] = Counter()
    for part in parts:
        rejects.update(part.rejects)
    return Part(list(summaries), list(alerts), rejects, sum(p.duplicates for p in parts))


def replay_in_processes(lines: list[bytes], rules: RuleConfig, jobs: int) -> Part:
    """`replay.summaries_of(decode_file(lines), rules)` as a Part, in `jobs` processes."""
    shares = split(lines, jobs)
    gc.freeze()
    sys.stderr.flush()  # nothing buffered is inherited (workers end with os._exit anyway)
    workers: list[_Worker] = []
    ctrl_c = _CtrlC()
    with ctrl_c.installed():
        return _run(workers, ctrl_c, lines, shares, rules, jobs)


def _run(
    workers: list[_Worker],
    ctrl_c: _CtrlC,
    lines: list[bytes],
    shares: Shares,
    rules: RuleConfig,
    jobs: int,
) -> Part:
    try:
        for me in range(jobs):
            with ctrl_c.hold():  # a worker forked is a worker known, to be stopped
                workers.append(_Worker.fork(me, jobs, lines, shares, rules, workers))
        latest = [t for t in (w.receive() for w in workers) if t is not None]
        end = max(latest) if latest else None
        for worker in workers:
            worker.send(end)
        parts = [worker.receive() for worker in workers]
        for worker in workers:
            worker.reap()
    finally:
        with ctrl_c.hold():
            for worker in workers:
                worker.stop()
    return merge(parts)


class _CtrlC:
    """SIGINT while the workers run: one KeyboardInterrupt, never in the middle of
    forking a worker or of stopping them (held, it is raised when that is done); a
    second Ctrl-C while stopping is not a reason to leave a worker behind."""

    def __init__(self) -> None:
        self.held = False
        self.pending = False
        self.raised = False

    def __call__(self, signum: int, frame: object) -> None:
        if self.raised:
            return  # already stopping
        if self.held:
            self.pending = True
            return
        self.raised = True
        raise KeyboardInterrupt

    @contextmanager
    def hold(self) -> Iterator[None]:
        self.held = True
        try:
            yield
        finally:
            self.held = False
        if self.pending and not self.raised:  # only when nothing else is on its way out
            self.raised = True
            raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # only the main thread receives Python's SIGINT
            return
        previous = signal.signal(signal.SIGINT, self)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


def _work(
    lines: list[bytes],
    shares: Shares,
    me: int,
    jobs: int,
    rules: RuleConfig,
    up: IO[bytes],
    down: IO[bytes],
) -> None:
    decoded = decode_share(lines, shares, me, jobs)
    _send(up, ("ok", decoded.events[-1][0] if decoded.events else None))
    end = pickle.load(down)
    result, summaries = summaries_of(decoded, rules, until=end)
    _send(up, ("ok", Part.of(result, summaries)))


def _as_call(cls: type) -> Callable[[Any], tuple[type, tuple[Any, ...]]]:
    names = tuple(f.name for f in fields(cls))
    return lambda obj: (cls, tuple([getattr(obj, name) for name in names]))


# The summaries and alerts pickled as calls of their classes: a slots dataclass's own
# `__setstate__` takes about 1.5 times as long to load (ten months: 0.5 s against 0.34 s).
_REDUCERS: dict[type, Callable[[Any], Any]] = {
    **copyreg.dispatch_table,
    **{
        cls: _as_call(cls)
        for cls in (
            SuiteStay,
            LaRequest,
            LaResponse,
            Extension,
            Night,
            NextDeadline,
            EpisodeSummary,
            AlertRecord,
        )
    },
}


def _send(pipe: IO[bytes], message: object) -> None:
    pickler = pickle.Pickler(pipe, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _REDUCERS
    pickler.dump(message)
    pipe.flush()


@dataclass
class _Worker:
    """One forked worker, seen from the parent: its pid and its two pipes."""

    number: int
    jobs: int
    pid: int
    up: IO[bytes]
    """Worker to parent."""
    down: IO[bytes]
    """Parent to worker."""
    reaped: bool = False

    @classmethod
    def fork(
        cls,
        me: int,
        jobs: int,
        lines: list[bytes],
        shares: Shares,
        rules: RuleConfig,
        others: list[_Worker],
    ) -> _Worker:
        up_r, up_w = os.pipe()
        down_r, down_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the parent's code
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: gone at once
                os.close(up_r)
                os.close(down_w)
                for other in others:  # or their ends of the pipe never see EOF
                    os.close(other.up.fileno())
                    os.close(other.down.fileno())
                with os.fdopen(up_w, "wb") as up, os.fdopen(down_r, "rb") as down:
                    try:
                        _work(lines, shares, me, jobs, rules, up, down)
                        code = 0
                    except Exception as exc:  # told to the parent, which says it
                        _send(up, ("error", f"{type(exc).__name__}: {exc}".splitlines()[0]))
            finally:
                os._exit(code)
        os.close(up_w)
        os.close(down_r)
        return cls(me, jobs, pid, os.fdopen(up_r, "rb"), os.fdopen(down_w, "wb"))

    def receive(self) -> Any:
        try:
            kind, value = pickle.load(self.up)
        except EOFError:
            raise ReplayFailedError(
                f"{self.name} ended without its result ({self.reap()})"
            ) from None
        if kind == "error":
            raise ReplayFailedError(f"{self.name} failed: {value}")
        return value

    def send(self, value: object) -> None:
        try:
            _send(self.down, value)
        except BrokenPipeError:
            raise ReplayFailedError(f"{self.name} ended early ({self.reap()})") from None

    @property
    def name(self) -> str:
        return f"replay process {self.number + 1} of {self.jobs}"

    def reap(self) -> str:
        """Wait for the worker to end; how it ended."""
        _, status = os.waitpid(self.pid, 0)
        self.reaped = True
        if os.WIFSIGNALED(status):
            return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
        return f"exit status {os.waitstatus_to_exitcode(status)}"

    def stop(self) -> None:
        """Kill the worker if it is still there, reap it, close the pipes."""
        if not self.reaped:
            with suppress(ProcessLookupError):  # it ended already: reaped below
                os.kill(self.pid, signal.SIGKILL)
            self.reap()
        self.up.close()
        with suppress(BrokenPipeError):  # nothing left to flush to a worker that has ended
            self.down.close()
