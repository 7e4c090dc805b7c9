"""How fast `custodywatch simulate` writes JSONL: events/s and MB/s on one core.

    .venv/bin/python benchmarks/bench_simulate.py [--events N] [--repeat R] [--seed S]

Generates N events (default 2,000,000) to a temporary file, R times (default
3), and prints the best run. By default the traffic has the published density
(54,929 detentions in ten months, about 4.3 events each), so N events span
several years; `--months 10` packs them into ten months instead (denser
traffic keeps more lines in flight, which is slower). The output is cut at
exactly N lines; setup (pools, tables) is included in the time. CPU time is
shown next to wall time because a shared machine makes wall time noisy.

Each run writes a new file: the previous run's is deleted before the clock
starts. (Rewriting it in place would time the kernel truncating ~600 MB and, on
ext4, flushing the new data at close: costs of the benchmark, not of the
simulator, paid by every run but the first.)
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

from custodywatch.sim.config import SimConfig
from custodywatch.sim.output import write_file
from custodywatch.sim.targets import PUBLISHED, REFERENCE_MONTHS

EVENTS_PER_DETENTION = 4.2  # a little under the real ~4.3, so that N lines are reached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--months", type=int, help="span (default: the published density)")
    args = parser.parse_args()

    detentions = int(args.events / EVENTS_PER_DETENTION) + 1
    per_month = PUBLISHED.detentions / REFERENCE_MONTHS
    months = args.months or max(1, math.ceil(detentions / per_month))
    config = SimConfig(seed=args.seed, months=months, detentions=detentions)
    print(f"{detentions:,} detentions over {months} months, cut at {args.events:,} events")
    best: tuple[float, float, int, int] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        for _ in range(args.repeat):
            path.unlink(missing_ok=True)
            wall0, cpu0 = time.perf_counter(), time.process_time()
            stats = write_file(config, path, max_lines=args.events)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            size = path.stat().st_size
            print(
                f"  {stats.lines:,} events, {size / 1e6:,.1f} MB in {wall:.2f} s wall "
                f"({cpu:.2f} s CPU): {stats.lines / wall:,.0f} events/s, {size / 1e6 / wall:,.1f} MB/s"
            )
            if best is None or wall < best[0]:
                best = (wall, cpu, stats.lines, size)
    assert best is not None
    wall, cpu, lines, size = best
    print(
        f"best of {args.repeat}: {lines / wall:,.0f} events/s, {size / 1e6 / wall:,.1f} MB/s "
        f"(wall); {lines / cpu:,.0f} events/s on CPU time; {size / lines:,.0f} bytes/event"
    )


if __name__ == "__main__":
    main()
