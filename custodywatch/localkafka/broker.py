"""Run a throw-away single-node Kafka (KRaft, broker+controller in one JVM).

Each `LocalKafka` gets a fresh temp dir holding its config, its KRaft metadata and data
logs, and ``broker.log`` (the JVM's stdout/stderr). `stop()` deletes the dir.
With ``secure=True`` it also serves SASL_SSL and SSL listeners (custodywatch.localkafka.secure)
with TLS keys made in that dir (custodywatch.localkafka.tls).
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from custodywatch.localkafka.connection import KafkaConnection
from custodywatch.localkafka.fetch import (
    KafkaToolMissingError,
    default_version,
    ensure_kafka_jars,
    major_version,
)
from custodywatch.localkafka.secure import SecureListeners, secure_listeners

HOST = "127.0.0.1"
_STOP_GRACE_S = 20.0
# Start-up matters more than peak throughput here: C1-only JIT and the serial GC cut the
# time to a ready broker roughly in half on a small (2-core) machine.
DEFAULT_JVM_OPTIONS: tuple[str, ...] = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")

_LOG4J2 = """\
status = error
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = STDOUT
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
"""

_LOG4J1 = """\
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
"""


class KafkaStartError(RuntimeError):
    """The local broker did not come up; the message ends with the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _cluster_id() -> str:
    """A KRaft cluster id: a random UUID, base64url without padding (22 chars)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):  # Kafka avoids these: they look like CLI flags
            return text


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def _find_java() -> str:
    java_home = os.environ.get("JAVA_HOME", "").strip()
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise KafkaToolMissingError("`java` is not on PATH (and JAVA_HOME is unset)")
    return java


def _die_with_parent() -> None:
    """Runs in the forked child before exec: on Linux, ask for SIGTERM when the parent
    dies, so a killed test run (SIGKILL, CI timeout) leaves no broker JVM behind."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


async def _describe_cluster(bootstrap: str) -> int:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        info: dict[str, Any] = await admin.describe_cluster()
        return len(info.get("brokers") or [])
    finally:
        await admin.close()


def _broker_count(bootstrap: str) -> int:
    """Ask the cluster for its brokers with aiokafka, in a thread with its own event loop
    (so this works whether or not the caller is inside a running loop)."""
    result: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(asyncio.wait_for(_describe_cluster(bootstrap), 10)))
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name="localkafka-probe", daemon=True)
    thread.start()
    thread.join(15)
    if errors:
        raise errors[0]
    return result[0] if result else 0


class LocalKafka:
    """A single-node Kafka broker in a subprocess; use as a context manager.

    On Linux the JVM is told to exit when the thread that started it dies (so a killed
    test run leaves no broker behind): start it from a thread that outlives it.

    Example::

        with LocalKafka() as kafka:
            producer = AIOKafkaProducer(**kafka.connection.client_kwargs())
    """

    def __init__(
        self,
        version: str | None = None,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        heap: str = "512m",
        startup_timeout: float = 60.0,
        extra_properties: dict[str, str] | None = None,
        jvm_options: tuple[str, ...] = DEFAULT_JVM_OPTIONS,
        secure: bool = False,
    ) -> None:
        self.version = version or default_version()
        self.port = port or free_port()
        self.controller_port = controller_port or free_port()
        while self.controller_port == self.port:
            self.controller_port = free_port()
        self.heap = heap
        self.startup_timeout = startup_timeout
        self.extra_properties = dict(extra_properties or {})
        self.jvm_options = jvm_options
        self.want_secure = secure
        self.secure: SecureListeners | None = None
        """Once started with ``secure=True``: its SASL_SSL and SSL listeners."""
        self.data_dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._java: str | None = None
        self._libs: Path | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def connection(self) -> KafkaConnection:
        return KafkaConnection(bootstrap_servers=self.bootstrap_servers)

    @property
    def log_path(self) -> Path | None:
        return None if self.data_dir is None else self.data_dir / "broker.log"

    def log_tail(self, lines: int = 40) -> str:
        return "(no log)" if self.log_path is None else _tail(self.log_path, lines)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def server_properties(self, log_dir: Path) -> dict[str, str]:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{HOST}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(log_dir),
            "num.partitions": "4",
            "auto.create.topics.enable": "true",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "4",
            "num.recovery.threads.per.data.dir": "1",
            "log.segment.bytes": str(16 * 1024 * 1024),
            "log.retention.hours": "24",
        }
        props.update(self.extra_properties)
        return props

    def _java_cmd(self, main: str, *args: str) -> list[str]:
        assert self.data_dir is not None
        assert self._libs is not None
        assert self._java is not None
        if major_version(self.version) >= 4:
            logging = f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}"
        else:
            logging = f"-Dlog4j.configuration=file:{self.data_dir / 'log4j.properties'}"
        return [
            self._java,
            f"-Xmx{self.heap}",
            *self.jvm_options,
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.data_dir / 'logs'}",
            logging,
            "-cp",
            str(self._libs / "*"),
            main,
            *args,
        ]

    def start(self) -> Self:
        if self._proc is not None:
            raise RuntimeError("this LocalKafka is already started")
        self._java = _find_java()
        self._libs = ensure_kafka_jars(self.version)
        self.data_dir = Path(tempfile.mkdtemp(prefix="custodywatch-kafka-"))
        atexit.register(self.stop)
        try:
            self._format_and_launch()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _format_and_launch(self) -> None:
        assert self.data_dir is not None
        (self.data_dir / "log4j2.properties").write_text(_LOG4J2, encoding="utf-8")
        (self.data_dir / "log4j.properties").write_text(_LOG4J1, encoding="utf-8")
        config = self.data_dir / "server.properties"
        props = self.server_properties(self.data_dir / "kraft")
        format_args: list[str] = []
        if self.want_secure:
            props, format_args = self._add_secure_listeners(props)
        config.write_text("".join(f"{k}={v}\n" for k, v in props.items()), encoding="utf-8")

        fmt = subprocess.run(
            self._java_cmd(
                "kafka.tools.StorageTool",
                "format",
                "--config",
                str(config),
                "--cluster-id",
                _cluster_id(),
                *format_args,
            ),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if fmt.returncode != 0:
            raise KafkaStartError(
                f"formatting KRaft storage failed (exit {fmt.returncode}):\n"
                f"{(fmt.stdout + fmt.stderr).strip()[-4000:]}"
            )
        assert self.log_path is not None
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                self._java_cmd("kafka.Kafka", str(config)),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,  # Ctrl-C reaches us; we stop the broker ourselves
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            )

    def _add_secure_listeners(self, props: dict[str, str]) -> tuple[dict[str, str], list[str]]:
        """The SASL_SSL and SSL listeners on free ports, their TLS material in the data dir."""
        assert self.data_dir is not None
        taken = {self.port, self.controller_port}
        ports: list[int] = []
        while len(ports) < 2:
            if (port := free_port()) not in taken:
                taken.add(port)
                ports.append(port)
        self.secure, props, format_args = secure_listeners(
            props, self.data_dir / "tls", HOST, ports[0], ports[1]
        )
        return props, format_args

    def _wait_ready(self) -> None:
        assert self._proc is not None
        assert self.log_path is not None
        deadline = time.monotonic() + self.startup_timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise KafkaStartError(
                    f"Kafka {self.version} exited with code {code} during startup; "
                    f"tail of {self.log_path}:\n{_tail(self.log_path)}"
                )
            try:
                # Cheap check first, so aiokafka does not log connection errors meanwhile.
                with socket.create_connection((HOST, self.port), timeout=1):
                    pass
                if _broker_count(self.bootstrap_servers) > 0:
                    return
                last_error = "the cluster reported no brokers"
            except Exception as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.25)
        raise KafkaStartError(
            f"Kafka {self.version} did not answer on {self.bootstrap_servers} within "
            f"{self.startup_timeout:.0f}s (last error: {last_error}); "
            f"tail of {self.log_path}:\n{_tail(self.log_path)}"
        )

    def stop(self) -> None:
        """SIGTERM, wait, then SIGKILL; delete the data dir. Safe to call twice."""
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(10)
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
        self.secure = None  # its CA file went with the data dir

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def open_kafka(version: str | None = None) -> Iterator[KafkaConnection]:
    """The cluster named by ``CUSTODYWATCH_KAFKA_BOOTSTRAP`` if set (nothing is started),
    else a freshly started `LocalKafka`, stopped on exit."""
    external = KafkaConnection.from_env()
    if external is not None:
        yield external
        return
    with LocalKafka(version) as kafka:
        yield kafka.connection
