"""`custodywatch worker --processes N`: N worker processes, members of one consumer group.

The worker is one Python thread; its Kafka I/O, decoding and rules all share it.
N processes use N cores. Each one is a whole worker: its own consumer (a member
of the same group), the partitions the group gives it, one transactional
producer per partition (`transactional.id` = group/topic/partition). So
exactly-once holds across members exactly as it does when a second worker joins
(a partition's new owner fences the old one's transactions and restores its
changelog).

The parent imports everything once, then forks the members, so they start
together and join the group within milliseconds of each other: one rebalance,
not one per member. It forwards SIGTERM and SIGINT to them, and when one member
exits with an error it stops the others and exits with that member's code.

Part of the Kafka adapter's process handling: the standard library only.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from multiprocessing.process import BaseProcess
from types import FrameType

STOP_WAIT_S = 30.0
"""How long the members get to commit their batches in flight after SIGTERM."""


def run_members(count: int, member: Callable[[int], int]) -> int:
    """Run `member(i)` for i in 0..count-1, each in a forked process; the first error code."""
    context = multiprocessing.get_context("fork")  # after the imports: each starts at once
    processes = [
        context.Process(target=_member_main, args=(member, i, os.getpid()), name=f"worker-{i}")
        for i in range(count)
    ]
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        _terminate(processes)  # each member commits its batches in flight, then exits 0

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for process in processes:
            process.start()
        code = _wait(processes)
        if code != 0 and not stopping:
            _terminate(processes)  # one failed: the others stop too, as a single worker would
        deadline = time.monotonic() + STOP_WAIT_S
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.exitcode is None:
                process.kill()
                process.join()
        return code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _member_main(member: Callable[[int], int], index: int, parent: int) -> None:
    # The parent's handlers are not the member's: the worker installs its own.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _die_with(parent)
    sys.exit(member(index))


def _die_with(parent: int) -> None:
    """A member is killed with its parent (SIGKILL leaves no orphan consuming on)."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before that took effect
        os._exit(1)


def _wait(processes: Sequence[BaseProcess]) -> int:
    """Until every member has exited, or one has failed: its exit code (0: all done)."""
    while True:
        alive = False
        for process in processes:
            process.join(0.1)
            code = process.exitcode
            if code is None:
                alive = True
            elif code != 0:
                return code if code > 0 else 128 - code  # killed by a signal: 128 + its number
        if not alive:
            return 0


def _terminate(processes: Sequence[BaseProcess]) -> None:
    for process in processes:
        if process.exitcode is None and process.pid is not None:
            process.terminate()
