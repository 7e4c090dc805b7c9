"""Engines, sessions and migrations; every database failure a person can cause
(bad URL, server down, wrong password) becomes one `StoreUnavailableError` line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, Table, create_engine, event, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
MIGRATION_LOCK = 0x6375_7374_6F64  # any constant: the advisory lock's key

T = TypeVar("T")


class StoreUnavailableError(Exception):
    """The database cannot be used: the message is one line for a person, without secrets."""


def describe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"


def open_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for a SQLAlchemy URL (`sqlite:///file.db`, `postgresql+psycopg://...`).

    `read_only`: for a reader beside a busy `serve` (a report, a watcher). Its
    transactions cannot write, and on SQLite they do not take the write lock.
    Only checks the URL; `check()` or `migrate()` connects.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreUnavailableError(
            "database URL is not a SQLAlchemy URL (e.g. sqlite:///custodywatch.db, "
            "postgresql+psycopg://user@host/db)"
        ) from None
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed, read_only)
        if parsed.get_backend_name() == "postgresql":
            if parsed.drivername == "postgresql":  # psycopg 3 is the driver we ship
                parsed = parsed.set(drivername="postgresql+psycopg")
            return create_engine(
                parsed,
                pool_pre_ping=True,
                connect_args={"connect_timeout": 10},
                execution_options={"postgresql_readonly": True} if read_only else {},
            )
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        raise StoreUnavailableError(f"database URL {describe(url)}: {exc}") from None
    raise StoreUnavailableError(
        f"database URL {describe(url)}: only sqlite and postgresql (postgresql+psycopg) are supported"
    )


def _sqlite_engine(url: URL, read_only: bool) -> Engine:
    if url.database and url.database != ":memory:" and not Path(url.database).parent.is_dir():
        raise StoreUnavailableError(f"database URL {describe(str(url))}: no such directory")
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the driver, begins transactions (see _begin below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL: the CLI and the board read while `serve` writes; wait for a lock, not fail.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Take the write lock when the transaction starts. A deferred transaction that
        # reads, then writes after another connection committed, fails at once with
        # "database is locked" (the busy timeout does not apply to that upgrade);
        # serve's fold, timers and delivery write from several connections at once.
        # A reader's snapshot (WAL) needs no lock: it never blocks the writers.
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def guarded(engine: Engine, what: Callable[[], T]) -> T:
    """Run `what`; a database error becomes one StoreUnavailableError line naming the database."""
    try:
        return what()
    except SQLAlchemyError as exc:
        raise StoreUnavailableError(
            f"database {describe(str(engine.url))}: {first_line(exc)}"
        ) from None


def first_line(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it is there already).

    Several processes may start at once (serve, the board, a CLI command): the
    migration runs under a lock (PostgreSQL: an advisory lock; SQLite: BEGIN
    IMMEDIATE), so the second waits, then finds the schema up to date.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def upgrade() -> None:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            else:  # SQLite: every transaction begins IMMEDIATE (_sqlite_engine), so this locks
                connection.exec_driver_sql("SELECT 1")
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()

    guarded(engine, upgrade)


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session, committed on success, rolled back on any exception."""
    with factory() as session, session.begin():
        yield session


def dialect_insert(session: Session, table: Table) -> sqlite.Insert | postgresql.Insert:
    """INSERT with ON CONFLICT for the session's engine (both dialects spell it alike)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
