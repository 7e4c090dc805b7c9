"""Which monthly reports are due: the month boundary in local time (GMT and BST),
restarts and second instances (what the outbox already holds), the store's first data."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from lifecycle_kit import ROUTING

from custodywatch.core.clock import to_us
from custodywatch.lifecycle.monthly import DueReport, Month, due_reports, report_key
from custodywatch.lifecycle.routing import routing_from_yaml

LONDON = "Europe/London"
LAS = sorted(ROUTING.local_authorities)
FIRST = to_us(datetime(2025, 11, 3, 9, 0, tzinfo=UTC))  # the store's first detention


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return to_us(datetime(year, month, day, hour, minute, second, tzinfo=UTC))


def due_at(now: int, sent: set[tuple[str, str, str]] | None = None) -> list[DueReport]:
    return due_reports(now, ROUTING, LONDON, FIRST, sent or set())


def months(due: list[DueReport]) -> set[str]:
    return {str(d.month) for d in due}


def sent_all(due: list[DueReport]) -> set[tuple[str, str, str]]:
    return {(d.key, a.channel, a.address) for d in due for a in d.addresses}


def test_in_winter_the_report_is_due_at_midnight_gmt_on_the_first() -> None:
    assert months(due_at(utc(2026, 1, 31, 23, 59, 59))) == {"2025-11", "2025-12"}
    due = due_at(utc(2026, 2, 1, 0, 0))
    assert months(due) == {"2025-11", "2025-12", "2026-01"}
    january = [d for d in due if d.month == Month(2026, 1)]
    assert [d.local_authority for d in january] == LAS  # every LA, children or not
    assert all(d.recipient == f"la/{d.local_authority}/safeguarding_partnership" for d in due)


def test_in_summer_the_report_is_due_at_midnight_bst_which_is_2300_utc() -> None:
    before = due_at(utc(2026, 6, 30, 22, 59, 59), sent=None)
    assert Month(2026, 6) not in {d.month for d in before}
    after = due_at(utc(2026, 6, 30, 23, 0))
    assert Month(2026, 6) in {d.month for d in after}
    assert after[0].month == Month(2026, 4)  # catch-up: at most three months back, oldest first


def test_what_the_outbox_holds_is_never_due_again() -> None:
    now = utc(2026, 2, 1, 0, 5)
    first = due_at(now)
    assert due_at(now, sent_all(first)) == []  # a restart, or a second serve
    later = utc(2026, 2, 20, 12, 0)
    assert due_at(later, sent_all(first)) == []  # nothing new until March begins
    march = due_at(utc(2026, 3, 1, 0, 0), sent_all(first))
    assert months(march) == {"2026-02"}


def test_a_channel_not_yet_sent_is_due_alone() -> None:
    text = """
version: 1
force:
  superintendent: {channels: [{type: email, address: sup@force.example}]}
  fallback: {channels: [{type: email, address: control@force.example}]}
suites: {}
local_authorities:
  dudley:
    out_of_hours: {channels: [{type: email, address: edt@dudley.example}]}
    safeguarding_partnership:
      channels:
        - {type: email, address: partnership@dudley.example}
        - {type: kafka, topic: partnership.reports}
"""
    routing = routing_from_yaml(text)
    now = utc(2025, 12, 1, 0, 0)
    key = report_key("dudley", Month(2025, 11))
    sent = {(key, "email", "partnership@dudley.example")}
    due = due_reports(now, routing, LONDON, FIRST, sent)
    assert [(d.key, [(a.channel, a.address) for a in d.addresses]) for d in due] == [
        ("report:dudley:2025-11", [("kafka", "partnership.reports")])
    ]


def test_no_report_before_the_store_has_data_and_a_partial_first_month_says_so() -> None:
    assert due_reports(utc(2026, 2, 1, 0, 0), ROUTING, LONDON, None, set()) == []
    due = due_at(utc(2025, 12, 1, 0, 0))
    assert months(due) == {"2025-11"}  # not October: the data begins in November
    assert {d.data_from for d in due} == {date(2025, 11, 3)}
    december = [d for d in due_at(utc(2026, 1, 1, 0, 0)) if d.month == Month(2025, 12)]
    assert {d.data_from for d in december} == {None}


def test_a_first_detention_at_half_past_midnight_bst_on_the_first_is_that_month() -> None:
    # 23:30 UTC on 31 May is 00:30 BST on 1 June: the data begins in June, a whole month.
    first = utc(2026, 5, 31, 23, 30)
    due = due_reports(utc(2026, 7, 1, 0, 0), ROUTING, LONDON, first, set())
    assert months(due) == {"2026-06"}
    assert {d.data_from for d in due} == {None}


@pytest.mark.parametrize(
    ("month", "first", "last", "previous", "following"),
    [
        (Month(2026, 1), date(2026, 1, 1), date(2026, 1, 31), "2025-12", "2026-02"),
        (Month(2024, 2), date(2024, 2, 1), date(2024, 2, 29), "2024-01", "2024-03"),
        (Month(2025, 12), date(2025, 12, 1), date(2025, 12, 31), "2025-11", "2026-01"),
    ],
)
def test_months(month: Month, first: date, last: date, previous: str, following: str) -> None:
    assert (month.first_day, month.last_day) == (first, last)
    assert (str(month.previous()), str(month.next())) == (previous, following)
