"""Creating the topics a process writes or reads, when they are missing.

The worker and the store's fold both create theirs at start-up, whichever starts
first: each creates only what is missing, and losing the race to the other is fine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

COMPACTED: Mapping[str, str] = {"cleanup.policy": "compact"}
"""The latest record per key is what counts (episode summaries, states)."""


async def create_missing(
    admin: AIOKafkaAdminClient,
    partitions: int,
    topics: Sequence[tuple[str, Mapping[str, str]]],
) -> None:
    """Create each (name, configs) not yet on the cluster, with `partitions` partitions."""
    existing = set(await admin.list_topics())
    wanted = [
        NewTopic(name, partitions, 1, topic_configs=dict(configs))
        for name, configs in topics
        if name not in existing
    ]
    if wanted:
        with contextlib.suppress(TopicAlreadyExistsError):  # another process won the race
            await admin.create_topics(wanted)
