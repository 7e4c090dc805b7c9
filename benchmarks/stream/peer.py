"""The peer, Quix Streams 3.28 at-least-once: its own virtualenv, and one timed run.

quixstreams 3.28 requires pydantic < 2.14, so it cannot share the project's
environment: the benchmark makes a virtualenv for it under build/ (cached; pip
must reach the package index the first time) and runs `quix_job.py` there.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from custodywatch.config import Settings
from stream.common import ROOT, Process, say
from stream.kafka import CpuMeter

QUIX = "quixstreams==3.28.*"
VENV = ROOT / "build" / "quix-venv"
JOB = Path(__file__).with_name("quix_job.py")


def quix_python() -> Path:
    """The peer's interpreter, making its virtualenv first if needed."""
    python, stamp = VENV / "bin" / "python", VENV / ".installed"
    if not stamp.exists() or stamp.read_text() != QUIX:
        say(f"making the peer's virtualenv {VENV.relative_to(ROOT)} ({QUIX})")
        try:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", QUIX],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        except subprocess.CalledProcessError as exc:
            raise SystemExit(f"cannot install {QUIX} for the peer: {exc}") from None
        stamp.write_text(QUIX)
    return python


@dataclass
class PeerRun:
    rate: float
    """Events/s from its first processed event to its last."""
    rate_with_startup: float
    """Events/s from process start."""
    startup_s: float
    """Process start to first processed event."""
    cpu_per_event_us: float
    """Its CPU time (every thread: librdkafka's too) from start to done, per event."""


def _marker_time(process: Process, marker: str) -> float:
    for line in process.log_path.read_text(errors="replace").splitlines():
        if line.startswith(marker + " "):
            return float(line.split()[1])
    raise RuntimeError(f"no {marker!r} line in the peer's log:\n{process.tail()}")


async def peer_run(settings: Settings, events: int, log: Path) -> PeerRun:
    """Quix over the whole events topic, a fresh group and state directory."""
    python = quix_python()
    group = f"{settings.group_id}-quix"
    with tempfile.TemporaryDirectory(prefix="quix-state-") as state:
        argv = [
            str(python), str(JOB),
            "--broker", settings.kafka.bootstrap_servers,
            "--events", settings.topics.events,
            "--alerts", f"{settings.topics.alerts}.quix",
            "--group", group,
            "--state-dir", state,
            "--expected", str(events),
        ]  # fmt: skip
        process = Process(argv, {"PATH": "/usr/bin:/bin"}, log)
        try:
            await process.wait_for(b"done ", within_s=max(120.0, events / 500))
            cpu_s = CpuMeter(process.proc.pid).sample()[0]
        finally:
            process.stop()
    first, done = _marker_time(process, "first"), _marker_time(process, "done")
    run = PeerRun(
        events / (done - first),
        events / (done - process.started),
        first - process.started,
        cpu_s / events * 1e6,
    )
    say(
        f"  quix: {run.rate:,.0f} events/s after ready, {run.rate_with_startup:,.0f} from start, "
        f"{run.cpu_per_event_us:.0f} us CPU/event"
    )
    return run
