"""Live mode: the worker's poll wakes when the next deadline is due, within 5-100 ms."""

from __future__ import annotations

from typing import cast

from aiokafka import AIOKafkaProducer
from builders import Episode

from custodywatch.config import ClockMode, Settings
from custodywatch.contract.rejects import Reject, decode
from custodywatch.core.clock import to_us
from custodywatch.core.config import RuleConfig
from custodywatch.core.engine import Engine
from custodywatch.localkafka import KafkaConnection
from custodywatch.observer import NullObserver
from custodywatch.stream.partition import PartitionTask
from custodywatch.stream.upload_hold import UploadHold
from custodywatch.stream.worker import Worker

T0 = "2026-03-01T18:00:00+00:00"
FIRST_DUE = to_us(Episode("CR1", T0).t0) + 3600 * 10**6  # a child's first deadline: T0 + 1 h


def worker(mode: ClockMode, now: int, with_child: bool) -> Worker:
    settings = Settings(kafka=KafkaConnection(bootstrap_servers="127.0.0.1:9"), clock_mode=mode)
    w = Worker(settings, RuleConfig(), NullObserver(), now_us=lambda: now)
    engine = Engine(RuleConfig())
    if with_child:
        for line in Episode("CR1", T0, dob="2011-01-01").lines():
            event = decode(line)
            assert not isinstance(event, Reject), event
            engine.process(event)
        assert engine.next_due() == FIRST_DUE
    # The poll reads only the engines: this partition never sends anything.
    w.tasks[0] = PartitionTask(0, engine, cast(AIOKafkaProducer, None))
    return w


def test_the_poll_ends_when_the_next_deadline_falls_due() -> None:
    assert worker(ClockMode.WALL, FIRST_DUE - 30_500, with_child=True)._poll_ms() == 31
    assert worker(ClockMode.WALL, FIRST_DUE - 10**6, with_child=True)._poll_ms() == 100
    assert worker(ClockMode.WALL, FIRST_DUE - 1_000, with_child=True)._poll_ms() == 5
    assert worker(ClockMode.WALL, FIRST_DUE + 10**6, with_child=True)._poll_ms() == 5


def test_without_deadlines_or_in_event_time_it_waits_the_full_100_ms() -> None:
    assert worker(ClockMode.WALL, FIRST_DUE, with_child=False)._poll_ms() == 100
    assert worker(ClockMode.EVENT, FIRST_DUE - 30_500, with_child=True)._poll_ms() == 100


def test_a_partition_held_by_an_upload_waits_for_the_hold_to_lift_not_5_ms() -> None:
    now = FIRST_DUE + 10**6  # the first deadline is past, but the upload's frontier is not
    w = worker(ClockMode.WALL, now, with_child=True)
    w.tasks[0].hold = UploadHold(late_after_us=900 * 10**6, quiet_us=30 * 10**6)
    w.tasks[0].hold.observe(FIRST_DUE - 3600 * 10**6, sent_at_us=now - 29_960_000)
    assert w._poll_ms() == 40  # the hold lifts in 40 ms
    w.tasks[0].hold.observe(FIRST_DUE - 3600 * 10**6, sent_at_us=now)
    assert w._poll_ms() == 100
