"""`report/cli.settle`: what a command has read is out of the collector's sight, and what
it is done with is never freed (the process exits without the time freeing takes)."""

from __future__ import annotations

import gc
import weakref

from custodywatch.report.cli_common import settle


class Thing:
    """Any object a weak reference can watch."""


def test_what_a_command_is_done_with_is_never_freed_nor_scanned() -> None:
    done, read = Thing(), [Thing()]
    gone, kept = weakref.ref(done), weakref.ref(read[0])
    frozen_before = gc.get_freeze_count()
    try:
        settle(done)
        del done
        gc.collect()
        assert gone() is not None  # freed neither by reference counting nor the collector
        assert gc.get_freeze_count() > frozen_before  # `read` too: never scanned again
        assert kept() is read[0]
    finally:
        gc.unfreeze()  # this test's process lives on: let the collector have it all back
    gc.collect()
    assert gone() is None
