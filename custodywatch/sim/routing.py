"""A routing file for the simulated force: every role of its suites and LAs.

`force_routing(recipient -> channels)` gives the mapping (a routing.yaml's
content) with each recipient's channels chosen by the caller: the demo sends
everything to its local webhook receiver, tests to a receiver or a topic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from custodywatch.sim.force import LOCAL_AUTHORITIES, SUITES

Channels = Callable[[str], list[dict[str, Any]]]
"""Routing id (e.g. 'suite/perry-barr/custody_sergeant') -> its channels."""


def force_routing(channels: Channels) -> dict[str, Any]:
    def recipient(routing_id: str) -> dict[str, Any]:
        return {"channels": channels(routing_id)}

    return {
        "version": 1,
        "force": {
            "superintendent": recipient("force/superintendent"),
            "fallback": recipient("force/fallback"),
        },
        "suites": {
            s: {
                role: recipient(f"suite/{s}/{role}")
                for role in ("custody_sergeant", "duty_inspector")
            }
            for s in SUITES
        },
        "local_authorities": {
            la: {
                team: recipient(f"la/{la}/{team}")
                for team in ("out_of_hours", "safeguarding_partnership")
            }
            for la in LOCAL_AUTHORITIES
        },
    }
