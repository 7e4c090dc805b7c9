"""A read-only engine (reports, watchers beside a busy `serve`): it cannot write, and on
SQLite it reads while a writer holds the write lock instead of queueing behind it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError
from storekit import migrated, session_of

from custodywatch.store.db import open_engine
from custodywatch.store.schema import consumer_offsets


def _offset_row() -> dict[str, object]:
    return {"group_id": "g", "topic": "t", "partition": 0, "next_offset": 7}


def test_a_read_only_engine_reads_but_cannot_write(database_url: str) -> None:
    with session_of(migrated(database_url)) as session:
        session.execute(insert(consumer_offsets).values(**_offset_row()))
    reader = open_engine(database_url, read_only=True)
    with session_of(reader) as session:
        assert session.scalar(select(func.sum(consumer_offsets.c.next_offset))) == 7
    with pytest.raises(DBAPIError), session_of(reader) as session:
        session.execute(insert(consumer_offsets).values(**{**_offset_row(), "partition": 1}))


def test_a_reader_is_not_held_up_by_a_writer_holding_the_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/store.db"
    writer = migrated(url)
    with writer.connect() as holding:  # BEGIN IMMEDIATE: the write lock, until rollback
        holding.execute(insert(consumer_offsets).values(**_offset_row()))
        reader = open_engine(url, read_only=True)
        with reader.connect() as connection:
            connection.exec_driver_sql("PRAGMA busy_timeout=0")  # would fail at once if it waited
            assert connection.scalar(select(func.count()).select_from(consumer_offsets)) == 0
        holding.rollback()
