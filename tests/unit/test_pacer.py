"""Pacing simulated traffic onto Kafka: the schedule, without sleeping."""

from __future__ import annotations

from custodywatch.stream.publisher import Pacer

MINUTE_US = 60_000_000
HOUR_US = 60 * MINUTE_US


def offsets(pacer: Pacer, times_us: list[int]) -> list[float]:
    return [pacer.offset(at) for at in times_us]


def test_speed_maps_simulated_time_to_real_seconds() -> None:
    # 1800x: one simulated hour in 2 s, whatever the first event's time.
    start = 1_763_107_200_000_000
    times = [start, start + HOUR_US, start + 90 * MINUTE_US]
    assert offsets(Pacer(1800.0), times) == [0.0, 2.0, 3.0]


def test_a_quiet_stretch_is_cut_and_the_pace_resumes_after_it() -> None:
    times = [0, 30 * MINUTE_US, 40 * HOUR_US, 40 * HOUR_US + 30 * MINUTE_US]
    # Without a cap the 39.5 h gap takes 79 s; with it, 2 s, then 30 min is 1 s again.
    assert offsets(Pacer(1800.0), times) == [0.0, 1.0, 80.0, 81.0]
    assert offsets(Pacer(1800.0, max_gap_s=2.0), times) == [0.0, 1.0, 3.0, 4.0]


def test_an_event_earlier_than_the_last_is_sent_at_once_and_moves_nothing() -> None:
    times = [0, HOUR_US, 10 * MINUTE_US, 2 * HOUR_US]
    assert offsets(Pacer(3600.0), times) == [0.0, 1.0, 1.0, 2.0]
