"""Live mode: hold firing while a partition is receiving a backdated upload.

A custody system that was offline sends its backlog when it comes back: hours
of events, each with its real `occurred_at`, a second or so apart. A worker that
is caught up between a child's appropriate-adult request and the arrival that
follows it in the upload would fire the long-past deadline on the wall clock,
page the sergeant, and retract the alert a moment later when the arrival comes.

So an accepted event sent more than `late_after` after it occurred (the Kafka
record's timestamp against `occurred_at`) marks its partition as receiving an
upload. While it does, the partition fires in event time: only deadlines due at
or before where the upload has got to (the `occurred_at` of its latest event),
because the events after that may still come. Where it has got to, not the
latest `occurred_at` ever sent: after two uploads one after the other (or two
systems interleaved) time goes back, and the second's deadlines must wait for
its own events. Once no such event has been sent for `quiet`, the wall clock
applies again and whatever still stands fires, raised at that moment. A release
recorded late, on its own, holds its partition for at most `quiet`.

Pure: time is a parameter (microseconds); no Kafka, no wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class UploadHold:
    late_after_us: int
    """An event sent more than this after it occurred is part of an upload."""
    quiet_us: int
    """The upload is over when no late event has been sent for this long (0: never hold)."""
    frontier_us: int | None = None
    """Where the upload has got to: the occurred_at of its latest event."""
    last_sent_us: int | None = None
    """When the upload's latest event was sent."""

    def observe(self, occurred_at_us: int, sent_at_us: int) -> None:
        """Record an accepted event (never a rejected or duplicate one: they change nothing)."""
        if self.quiet_us <= 0 or sent_at_us - occurred_at_us <= self.late_after_us:
            return
        if self.last_sent_us is None or sent_at_us > self.last_sent_us:
            self.last_sent_us = sent_at_us
        self.frontier_us = occurred_at_us

    def holding(self, now_us: int) -> bool:
        if self.last_sent_us is None or now_us - self.last_sent_us >= self.quiet_us:
            self.frontier_us = self.last_sent_us = None  # over: the next upload starts afresh
            return False
        return True

    def fire_limit(self, now_us: int) -> int:
        """The latest due time the partition may fire at wall-clock time `now_us`."""
        if self.holding(now_us) and self.frontier_us is not None:
            return min(now_us, self.frontier_us)
        return now_us

    def ends_at(self) -> int | None:
        """When the hold lifts if no further late event is sent (None: not holding)."""
        return None if self.last_sent_us is None else self.last_sent_us + self.quiet_us
