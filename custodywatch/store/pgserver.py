"""A throwaway local PostgreSQL server for tests and benchmarks (like `localkafka`).

`LocalPostgres` runs `initdb` in a fresh temporary directory, starts
`postgres` on a free port (127.0.0.1 and a unix socket in that directory),
and on exit stops it and removes the directory. It never uses a running
server. PostgreSQL refuses to run as root, so as root (CI) it runs the
server as the `postgres` system user (Debian's postgresql package creates
it) through `setpriv`, with the directory owned by that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import psycopg

from custodywatch.localkafka import free_port

START_TIMEOUT_S = 60.0
SUPERUSER = "custodywatch"


class PostgresStartError(RuntimeError):
    pass


def postgres_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin, else where `postgres` is on PATH."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    on_path = shutil.which("postgres")
    if on_path is None:
        raise PostgresStartError(
            "PostgreSQL not found (apt-get install postgresql, or put postgres on PATH)"
        )
    return Path(on_path).parent


class LocalPostgres:
    """`with LocalPostgres() as pg: pg.url("dbname")`; `durable=False` turns fsync off (tests)."""

    def __init__(self, durable: bool = True) -> None:
        self.durable = durable
        self.port = free_port()
        self.bin = postgres_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="cw-postgres-"))
        self.data = self.root / "data"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_user = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]

    def __enter__(self) -> LocalPostgres:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        initdb = subprocess.run(
            [
                *self._as_user,
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            capture_output=True,
            check=False,
        )
        if initdb.returncode != 0:
            raise PostgresStartError(
                f"initdb failed: {initdb.stderr.decode(errors='replace')[-500:]}"
            )
        settings = ["-c", "listen_addresses=127.0.0.1", "-p", str(self.port), "-k", str(self.root)]
        if not self.durable:
            settings += ["-c", "fsync=off", "-c", "full_page_writes=off"]
        self._log = (self.root / "server.log").open("ab")
        self.process = subprocess.Popen(
            [*self._as_user, str(self.bin / "postgres"), "-D", str(self.data), *settings],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise PostgresStartError(
                        f"postgres did not start: {self._log_tail()}"
                    ) from None
                time.sleep(0.1)

    def dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"

    def url(self, database: str) -> str:
        """A SQLAlchemy URL for `database` (see `create_database`)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, database: str) -> str:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        return self.url(database)

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # "fast" shutdown: disconnect clients, stop
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root)

    def _log_tail(self) -> str:
        try:
            return (self.root / "server.log").read_text(errors="replace")[-500:]
        except OSError:
            return "(no log)"
