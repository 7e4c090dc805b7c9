"""Database URLs: what a person gets back for a bad one, and no password in any message."""

from __future__ import annotations

import pytest

from custodywatch.store.db import StoreUnavailableError, describe, open_engine


def test_describe_hides_the_password() -> None:
    assert (
        describe("postgresql+psycopg://cw:s3cret@db:5432/cw")
        == "postgresql+psycopg://cw:***@db:5432/cw"
    )
    assert describe("::") == "(unparsable URL)"


def test_a_bare_postgresql_url_uses_psycopg_3() -> None:
    engine = open_engine("postgresql://cw:s3cret@db.invalid/cw")  # no connection yet
    assert engine.url.drivername == "postgresql+psycopg"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("::", "not a SQLAlchemy URL"),
        ("oracle://cw:s3cret@db/cw", "only sqlite and postgresql"),
        ("postgresql+nosuchdriver://cw:s3cret@db/cw", "postgresql+nosuchdriver://cw:***@db/cw"),
        ("sqlite:////no/such/directory/cw.db", "no such directory"),
    ],
)
def test_bad_urls_are_one_line_without_the_password(url: str, says: str) -> None:
    with pytest.raises(StoreUnavailableError) as caught:
        open_engine(url)
    message = str(caught.value)
    assert says in message and "s3cret" not in message and "\n" not in message
