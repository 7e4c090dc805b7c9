"""Writing generated traffic to a file: a thin layer over `generator.batches`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from custodywatch.sim.config import SimConfig
from custodywatch.sim.generator import MistakeLog, batches

CHUNK_LINES = 256  # lines joined per write() call (small chunks stay out of mmap)


@dataclass(frozen=True)
class WriteStats:
    lines: int
    bytes: int  # generated lines are ASCII: characters = bytes
    mistakes: int  # deliberately bad lines among `lines` (up to the last batch written)


def write_jsonl(config: SimConfig, out: TextIO, max_lines: int | None = None) -> WriteStats:
    """Write the run's JSONL lines to `out` (optionally only the first `max_lines`)."""
    log: MistakeLog = {}
    lines = size = 0
    pending: list[str] = []
    for batch in batches(config, log):
        if max_lines is not None and lines + len(pending) + len(batch) >= max_lines:
            pending += batch[: max_lines - lines - len(pending)]
            break
        pending += batch
        if len(pending) >= CHUNK_LINES:
            chunk = "".join(pending)
            out.write(chunk)
            lines += len(pending)
            size += len(chunk)
            pending = []
    if pending:
        chunk = "".join(pending)
        out.write(chunk)
        lines += len(pending)
        size += len(chunk)
    return WriteStats(lines, size, len(log))


def write_file(config: SimConfig, path: Path, max_lines: int | None = None) -> WriteStats:
    with path.open("w", encoding="utf-8", newline="\n") as out:
        return write_jsonl(config, out, max_lines)
