"""The streaming worker on a real broker, beside raw consume and a peer (Quix Streams).

    .venv/bin/python benchmarks/bench_stream.py [--events 70000] [--partitions 4] [--rounds 3]
        [--down 600] [--backlog 100000] [--before GIT_REF] [--processes 2] [--skip-live]
        [--skip-throughput]

Starts ONE local Kafka broker (or uses CUSTODYWATCH_KAFKA_BOOTSTRAP, plaintext: the
peer connects with a bare address) and publishes about --events simulated events.
Then, in --rounds interleaved rounds (stream/throughput.py): raw aiokafka consume +
json.loads (the baseline of the same run), this worker in event time (a separate
process, as in production; its alerts must equal replay's), and the same six-hour
job in Quix Streams 3.28 at-least-once, in its own virtualenv under build/
(stream/peer.py). Rates from process start and after ready (worker: every partition
claimed; Quix: its first event processed), start-up to the first batch committed;
with --before, the worker of an older commit too, in the same rounds (before/after);
with --processes N (default 2), `worker --processes N` too. Every "worker" row is
the single process; the `--processes N` rows say so.
Then live mode once (stream/live.py): alert latency, and SIGKILL with a --down
seconds outage during which --backlog events are produced: time until caught up,
false and missing alerts against replay.

Figures are medians (min-max) over the rounds; the machine is shared, so say how
busy it was. Worker logs go to a temp dir, kept when something fails or with
--keep-logs. Progress on stderr, the table on stdout; exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from stream.common import Process, checkout, run_settings, say
from stream.kafka import publish
from stream.live import LiveResult, live
from stream.peer import quix_python
from stream.report import report
from stream.throughput import Rounds, rounds

from custodywatch.localkafka import KafkaConnection, open_kafka
from custodywatch.sim.config import SimConfig
from custodywatch.sim.records import iter_records
from custodywatch.stream.changelog import ensure_topics


def sim_records(events: int) -> list[tuple[int, bytes, bytes]]:
    """About `events` simulated events: SimConfig(seed=1), detentions sized from a sample."""
    sample = 2000
    per_detention = sum(1 for _ in iter_records(SimConfig(seed=1, detentions=sample))) / sample
    detentions = max(1, round(events / per_detention))
    return list(iter_records(SimConfig(seed=1, detentions=detentions)))


async def bench(kafka: KafkaConnection, args: argparse.Namespace, logs: Path) -> bool:
    result: Rounds | None = None
    publish_rate = 0.0
    if not args.skip_throughput:
        quix_python()  # make the peer's virtualenv before anything is timed
        records = sim_records(args.events)
        lines = [value for _, _, value in records]
        settings = run_settings(kafka, "event", args.partitions)
        await ensure_topics(settings)
        say(f"publishing {len(records):,} simulated events to {settings.topics.events}")
        publish_rate = len(records) / await publish(settings, records)
        last_at = max(at for at, _, _ in records)
        before = checkout(args.before) if args.before else None
        result = await rounds(
            settings, kafka, lines, last_at, args.rounds, logs, before, args.processes
        )
    live_result: LiveResult | None = None
    if not args.skip_live:
        live_result = await live(run_settings(kafka, "live", args.partitions), args, logs)
    header = (
        f"custodywatch stream benchmark: {result.events if result else 0:,} simulated events, "
        f"{args.partitions} partitions, {args.rounds} rounds, broker {kafka.bootstrap_servers}"
    )
    return report(result, live_result, publish_rate, header)


@contextlib.contextmanager
def worker_logs(keep: bool) -> Iterator[Path]:
    logs = Path(tempfile.mkdtemp(prefix="custodywatch-bench-"))
    ok = False
    try:
        yield logs
        ok = True
    finally:
        Process.stop_all()
        if keep or not ok:
            say(f"logs kept in {logs}")
        else:
            shutil.rmtree(logs, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=70_000, help="simulated events (about)")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved throughput rounds")
    parser.add_argument("--rate", type=float, default=5.0, help="live deadlines due per second")
    parser.add_argument("--window", type=float, default=60.0, help="latency window, seconds")
    parser.add_argument("--down", type=float, default=600.0, help="s the worker stays killed")
    parser.add_argument("--backlog", type=int, default=100_000, help="events produced meanwhile")
    parser.add_argument(
        "--after-restart", type=float, default=20.0, help="s of live deadlines after catching up"
    )
    parser.add_argument(
        "--before", metavar="GIT_REF", help="also run the worker of this commit, in the same rounds"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="also run `worker --processes N` in the same rounds (1: only the single process)",
    )
    parser.add_argument("--skip-live", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s %(message)s")
    # aiokafka logs and retries transient errors (e.g. no leader yet for a new topic).
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    def terminate(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # unwind: stop the workers and the broker

    signal.signal(signal.SIGTERM, terminate)
    started = time.monotonic()
    with worker_logs(args.keep_logs) as logs:
        say("starting the local Kafka broker (or using CUSTODYWATCH_KAFKA_BOOTSTRAP)")
        with open_kafka() as kafka:
            try:
                ok = asyncio.run(bench(kafka, args, logs))
            finally:
                Process.stop_all()
    say(f"done in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
