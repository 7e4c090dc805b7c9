"""The worker's state gauges: open juvenile episodes by suite, deadlines, consumer lag.

Part of the Kafka adapter: reads the engines and the consumer, reports through the
observer port (never prometheus_client directly).
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer

from custodywatch.core.engine import Engine
from custodywatch.observer import Observer


async def report_gauges(
    engines: Iterable[Engine],
    consumer: AIOKafkaConsumer | None,
    events_topic: str,
    observer: Observer,
) -> None:
    suites: dict[str, int] = {}
    episodes = deadlines = 0
    for engine in engines:
        for suite, count in engine.juveniles_by_suite().items():
            suites[suite] = suites.get(suite, 0) + count
        episodes += len(engine.episodes)
        deadlines += engine.open_deadlines()
    observer.set_state(suites, episodes, deadlines)
    if consumer is None:
        return
    lags: dict[int, int] = {}
    for tp in consumer.assignment():
        high = consumer.highwater(tp)
        if tp.topic == events_topic and high is not None:
            lags[tp.partition] = max(high - await consumer.position(tp), 0)
    observer.set_consumer_lag(lags)
