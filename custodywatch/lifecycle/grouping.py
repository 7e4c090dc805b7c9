"""Grouping: a custody record's notices to one recipient within the window go as one.

The first notice about a record to a recipient (of one kind, on one channel)
goes out at once and opens a window (default 60 s); further notices for that
record, recipient, kind and channel within the window are held and sent as
one notification when it closes. Notices arriving together are sent together.
So the first alert about a child never waits; a burst costs one more message.

The state is soft: if the service restarts, it re-offers its unsent outbox and
those go out at once. `Outgoing.covers` names every per-alert idempotency key
a sent notification carries, for the outbox to mark them all sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from custodywatch.contract.notifications import Notification

GroupKey = tuple[str, str, str, str, str]
"""(recipient, custody record, kind, channel, address)."""


@dataclass(frozen=True, slots=True)
class Window:
    closes_at: int
    held: tuple[Notification, ...] = ()


@dataclass(frozen=True, slots=True)
class Groups:
    window_us: int
    windows: dict[GroupKey, Window] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outgoing:
    notification: Notification
    covers: tuple[str, ...]
    """The idempotency keys of the per-alert notifications it carries (its own first)."""


@dataclass(frozen=True, slots=True)
class Step:
    groups: Groups
    send: tuple[Outgoing, ...]
    wake_at: int | None
    """When to call `offer` again (with nothing new) to flush a window; None: no window holds any."""


def key(n: Notification) -> GroupKey:
    record = n.alerts[0].custody_record_id
    return (n.recipient, record, n.kind, n.channel, n.address)


def offer(groups: Groups, incoming: Iterable[Notification], now: int) -> Step:
    """Send what may go now; hold what must wait for its window to close."""
    windows = dict(groups.windows)
    send: list[Outgoing] = []
    for k, window in list(windows.items()):
        if window.closes_at <= now:
            if window.held:
                send.append(merge(window.held))
            del windows[k]
    fresh: dict[GroupKey, list[Notification]] = {}
    for n in incoming:
        k = key(n)
        if k in windows:
            windows[k] = Window(windows[k].closes_at, (*windows[k].held, n))
        else:
            fresh.setdefault(k, []).append(n)
    for k, batch in fresh.items():
        send.append(merge(batch))
        if groups.window_us > 0:
            windows[k] = Window(now + groups.window_us)
    holding = [w.closes_at for w in windows.values() if w.held]
    return Step(Groups(groups.window_us, windows), tuple(send), min(holding, default=None))


def merge(batch: Iterable[Notification]) -> Outgoing:
    """One notification carrying every alert of the batch; the first one's key and kind."""
    items = list({n.idempotency_key: n for n in batch}.values())
    first = items[0]
    if len(items) == 1:
        return Outgoing(first, (first.idempotency_key,))
    line = first.alerts[0]
    subject = (
        f"{len(items)} alerts {first.kind}: {line.custody_record_id} at {line.suite_id}"
        f" ({', '.join(f'{a.rule}/{a.stage}' for n in items for a in n.alerts)})"
    )
    text = f"{len(items)} alerts about custody record {line.custody_record_id}:\n\n" + (
        "\n\n---\n\n".join(n.text for n in items)
    )
    merged = Notification(
        idempotency_key=first.idempotency_key,
        kind=first.kind,
        step=first.step,
        recipient=first.recipient,
        channel=first.channel,
        address=first.address,
        subject=subject,
        text=text,
        alerts=tuple(a for n in items for a in n.alerts),
        created_at=first.created_at,
    )
    return Outgoing(merged, tuple(n.idempotency_key for n in items))
