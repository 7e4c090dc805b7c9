"""`custodywatch serve` (the same `run_serve`) with a hook whose writes are not idempotent.

Each hook call adds a `notified` log entry under a fresh random dedup key, so
a batch folded twice (a redo after SIGKILL) would show as two entries: the
test that kills this process can then see any redo, not only lost records.

    python serve_with_hook.py BATCH      (settings from CUSTODYWATCH_* as for serve)
"""

from __future__ import annotations

import logging
import sys
import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from custodywatch.config import Settings
from custodywatch.contract.alerts import AlertRecord, AlertState
from custodywatch.store.commands import run_serve
from custodywatch.store.queries import add_log_entry


class EveryCall:
    def on_alert(
        self, session: Session, record: AlertRecord, previous_state: AlertState | None
    ) -> None:
        add_log_entry(
            session,
            alert_id=record.alert_id,
            kind="notified",
            at=datetime.fromisoformat(record.state_at),
            dedup_key=f"hook/{uuid.uuid4().hex}",
            details={"for": record.state},
        )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    sys.exit(run_serve(Settings.from_env(), batch=int(sys.argv[1]), hooks=EveryCall()))
