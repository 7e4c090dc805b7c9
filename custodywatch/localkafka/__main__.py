"""``python -m custodywatch.localkafka {fetch,start}``.

``fetch`` downloads the broker jars into the cache. ``start`` runs a broker in the
foreground, prints the line that points other commands at it
(``export CUSTODYWATCH_KAFKA_BOOTSTRAP=127.0.0.1:<port>``, on stdout, so
``eval`` works on it), and stops it on Ctrl-C or SIGTERM. ``start --secure`` prints the
SASL_SSL/SCRAM-SHA-512 settings (address, CA file, user, password) instead.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import time
from types import FrameType

from custodywatch.localkafka.broker import LocalKafka
from custodywatch.localkafka.connection import (
    ENV_BOOTSTRAP,
    ENV_SASL_MECHANISM,
    ENV_SECURITY_PROTOCOL,
)
from custodywatch.localkafka.fetch import cache_dir, default_version, ensure_kafka_jars
from custodywatch.localkafka.secure import SecureListeners


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _print_secure(secure: SecureListeners) -> None:
    """SASL_SSL with SCRAM-SHA-512 on stdout (for eval); the other listeners on stderr."""
    env = secure.sasl_ssl("SCRAM-SHA-512").to_env()
    print("".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items()), end="")
    print(
        f"(SASL PLAIN: {ENV_SASL_MECHANISM}=PLAIN; TLS only: {ENV_BOOTSTRAP}="
        f"{secure.ssl_bootstrap} {ENV_SECURITY_PROTOCOL}=SSL, same CA, no SASL settings)",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m custodywatch.localkafka",
        description="A local single-node Apache Kafka broker (KRaft) for tests and demos.",
    )
    parser.add_argument(
        "--kafka-version", default=None, help=f"Kafka version (default {default_version()})"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="download the broker jars from Maven Central")
    start = sub.add_parser("start", help="run a broker in the foreground until Ctrl-C")
    start.add_argument("--port", type=int, default=None, help="client port (default: free)")
    start.add_argument(
        "--controller-port", type=int, default=None, help="KRaft controller port (default: free)"
    )
    start.add_argument("--heap", default="512m", help="JVM max heap (default 512m)")
    start.add_argument("--timeout", type=float, default=60.0, help="startup timeout, s")
    start.add_argument(
        "--secure",
        action="store_true",
        help="also SASL_SSL (SCRAM-SHA-512, PLAIN) and SSL listeners; print the SASL_SSL settings",
    )
    args = parser.parse_args(argv)
    version: str = args.kafka_version or default_version()

    if args.command == "fetch":
        began = time.monotonic()
        try:
            libs = ensure_kafka_jars(version)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"Kafka {version} jars in {libs} ({time.monotonic() - began:.1f}s)")
        return 0

    # The readiness probe uses aiokafka, which logs every refused connection meanwhile.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    print(f"Starting Kafka {version} (jars: {cache_dir(version)}) ...", file=sys.stderr)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)  # even if started with SIGINT ignored
    kafka = LocalKafka(
        version,
        port=args.port,
        controller_port=args.controller_port,
        heap=args.heap,
        startup_timeout=args.timeout,
        secure=args.secure,
    )
    began = time.monotonic()
    try:
        kafka.start()
        print(
            f"Kafka {version} ready in {time.monotonic() - began:.1f}s; log: {kafka.log_path}",
            file=sys.stderr,
        )
        if kafka.secure is None:
            print(f"export {ENV_BOOTSTRAP}={kafka.bootstrap_servers}", flush=True)
        else:
            _print_secure(kafka.secure)
        print("(in another shell; Ctrl-C here stops the broker)", file=sys.stderr, flush=True)
        while kafka.running:
            time.sleep(0.5)
        print(f"Kafka exited on its own; log tail:\n{kafka.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Stopping Kafka ...", file=sys.stderr)
        return 0  # the way to stop it: not an error
    except RuntimeError as exc:  # KafkaStartError, KafkaToolMissingError, Maven failures
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        kafka.stop()


if __name__ == "__main__":
    sys.exit(main())
