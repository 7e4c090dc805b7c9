"""Starting aiokafka clients so that a failed start leaves nothing open."""

from __future__ import annotations

from typing import Protocol


class _Client(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


async def start_or_close(client: _Client) -> None:
    """`client.start()`; if it fails (no broker, bad credentials), stop it before raising,
    so no half-started client is left for the garbage collector to complain about."""
    try:
        await client.start()
    except BaseException:
        await client.stop()
        raise
