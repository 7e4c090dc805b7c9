"""What every part of the stream benchmark uses: printing, percentiles, settings, processes."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from custodywatch.config import ClockMode, Settings, Topics
from custodywatch.localkafka import KafkaConnection, free_port

ROOT = Path(__file__).resolve().parents[2]


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def now_us() -> int:
    return time.time_ns() // 1000


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def spread(values: Sequence[float], fmt: str = ",.0f") -> str:
    """'median (min-max)' of the rounds."""
    if not values:
        return "n/a"
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def run_settings(kafka: KafkaConnection, label: str, partitions: int) -> Settings:
    run = f"bench-{label}-{uuid.uuid4().hex[:8]}"
    return Settings(
        kafka=kafka, topics=Topics.prefixed(run), group_id=f"{run}-group", partitions=partitions
    )


def fresh_group(base: Settings, kafka: KafkaConnection) -> Settings:
    """New group and alerts/state/clock/dead-letter topics over the same events topic."""
    other = run_settings(kafka, "event", base.partitions)
    topics = other.topics.model_copy(update={"events": base.topics.events})
    return other.model_copy(update={"topics": topics})


def die_with_parent() -> None:
    """In the child before exec: SIGKILL when the benchmark dies, so none is left behind."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Process:
    """A child process with its output in a log file, stopped at the end of the benchmark."""

    running: ClassVar[list[Process]] = []

    def __init__(self, argv: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> None:
        self.log_path = log
        self._log = log.open("ab")
        self.started = time.time()
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
        Process.running.append(self)

    def count(self, marker: bytes) -> int:
        try:
            return self.log_path.read_bytes().count(marker)
        except OSError:
            return 0

    async def wait_for(self, marker: bytes, times: int = 1, within_s: float = 90.0) -> float:
        """Wall time at which the log showed `marker` `times` times (polled every 10 ms)."""
        deadline = time.monotonic() + within_s
        while self.count(marker) < times:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.log_path.stem} exited {self.proc.returncode}:\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"no {marker!r} in the log within {within_s:g} s:\n{self.tail()}"
                )
            await asyncio.sleep(0.01)
        return time.time()

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def kill(self) -> float:
        self.proc.send_signal(signal.SIGKILL)
        killed = time.time()
        self.proc.wait(timeout=10)
        self._log.close()
        return killed

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()

    @classmethod
    def stop_all(cls) -> None:
        for process in cls.running:
            with contextlib.suppress(Exception):
                process.stop()
        cls.running.clear()


class WorkerProcess(Process):
    """`python -m custodywatch.cli worker` as a real OS process, so it can be SIGKILLed."""

    def __init__(
        self, settings: Settings, mode: ClockMode, log: Path, root: Path = ROOT, processes: int = 1
    ) -> None:
        env = {**os.environ, **settings.model_copy(update={"metrics_port": free_port()}).to_env()}
        if root != ROOT:  # another checkout's package first on the path
            env["PYTHONPATH"] = str(root)
        argv = [sys.executable, "-m", "custodywatch.cli", "worker", "--clock-mode", mode.value]
        if processes > 1:
            argv += ["--processes", str(processes)]
        super().__init__(argv, env, log, cwd=root)
        self.partitions = settings.partitions

    async def wait_claimed(self, within_s: float = 90.0) -> float:
        """Wall time at which the log showed every partition claimed."""
        return await self.wait_for(b"partition claimed", self.partitions, within_s)


def checkout(ref: str) -> Path:
    """The project at git `ref`, unpacked under build/ (no git worktree), to run its worker.

    The compiled core is copied over when `ref`'s core sources are the same as
    these, so that before and after run the same core build.
    """
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", ref],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        tree = ROOT / "build" / f"before-{sha}"
        if not tree.exists():
            tree.mkdir(parents=True)
            archive = subprocess.run(
                ["git", "archive", sha, "custodywatch"], cwd=ROOT, check=True, capture_output=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        same_core = (
            subprocess.run(
                # Modules added since `ref` do not matter: its own modules must be the same.
                ["git", "diff", "--quiet", "--diff-filter=a", sha, "--", "custodywatch/core"],
                check=False,
                cwd=ROOT,
            ).returncode
            == 0
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"cannot unpack git ref {ref!r}: {exc}") from None
    if same_core:
        for built in (ROOT / "custodywatch" / "core").glob("*.so"):
            shutil.copy2(built, tree / "custodywatch" / "core" / built.name)
            (tree / "custodywatch" / "core" / built.name).touch()
    say(f"'before' worker: {ref} ({sha}), core {'as here' if same_core else 'interpreted'}")
    return tree
