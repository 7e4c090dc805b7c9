"""The outbox, delivered: store rows claimed for the notify loop, results written back.

A row is claimed with a lease (SKIP LOCKED on PostgreSQL), delivered outside
the transaction, and its result recorded with a `delivery_attempt` entry in the
log of every alert it carries. A deliverer that dies mid-way leaves its rows to
be claimed again when the lease ends: at least once, with a stable
idempotency key for receivers to de-duplicate on.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr
from sqlalchemy import Engine, select, update

from custodywatch.config import Settings
from custodywatch.contract.notifications import Channel
from custodywatch.lifecycle.routing import Recipient, Routing, Webhook
from custodywatch.notify.delivery import Dispatcher, Notifier
from custodywatch.notify.email import EmailNotifier, ReportFiles
from custodywatch.notify.kafka import KafkaNotifier
from custodywatch.notify.outbox import Claimed, Recorded
from custodywatch.notify.webhook import WebhookNotifier
from custodywatch.observer import Observer
from custodywatch.store.db import guarded, sessions, transaction
from custodywatch.store.queries import claim_due_outbox, record_delivery
from custodywatch.store.schema import outbox

LEASE = timedelta(seconds=60)


class RoutingSecretError(ValueError):
    """A webhook in routing.yaml names a secret variable that is not set."""


def recipients(routing: Routing) -> dict[str, Recipient]:
    """Every recipient of the routing file by its routing id."""
    out = {
        "force/superintendent": routing.force.superintendent,
        "force/fallback": routing.force.fallback,
    }
    for suite, roles in routing.suites.items():
        out[f"suite/{suite}/custody_sergeant"] = roles.custody_sergeant
        out[f"suite/{suite}/duty_inspector"] = roles.duty_inspector
    for la, teams in routing.local_authorities.items():
        out[f"la/{la}/out_of_hours"] = teams.out_of_hours
        out[f"la/{la}/safeguarding_partnership"] = teams.safeguarding_partnership
    return out


def webhook_secrets(routing: Routing, env: dict[str, str] | None = None) -> dict[str, SecretStr]:
    """Each webhook recipient's signing secret, from the variable its `secret_env` names."""
    env = dict(os.environ) if env is None else env
    secrets: dict[str, SecretStr] = {}
    for recipient, spec in recipients(routing).items():
        for channel in spec.channels:
            if isinstance(channel, Webhook):
                value = env.get(channel.secret_env)
                if not value:
                    raise RoutingSecretError(
                        f"{recipient}: its webhook's secret_env {channel.secret_env} is not set "
                        f"(set it to the signing secret the receiver checks)"
                    )
                secrets.setdefault(recipient, SecretStr(value))
    return secrets


async def open_dispatcher(
    settings: Settings,
    routing: Routing,
    observer: Observer,
    stack: AsyncExitStack,
    report_files: ReportFiles | None = None,
) -> Dispatcher:
    """A notifier per channel the settings allow; closed with `stack`. `report_files`:
    the monthly reports' attachments, for the e-mail notifier."""
    webhook_settings = settings.webhook.model_copy(
        update={"secrets": {**settings.webhook.secrets, **webhook_secrets(routing)}}
    )
    notifiers: dict[Channel, Notifier] = {
        "webhook": await stack.enter_async_context(WebhookNotifier(webhook_settings)),
        "kafka": await stack.enter_async_context(KafkaNotifier(settings)),
    }
    if settings.smtp is not None:
        notifiers["email"] = EmailNotifier(settings.smtp, report_files)
    return Dispatcher(notifiers, observer)


class Outbox:
    """The two callables the notify loop needs, on the store's outbox table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessions(engine)

    async def claim_due(self, now: float, limit: int) -> Sequence[Claimed]:
        def claim() -> list[Claimed]:
            with transaction(self._sessions) as session:
                items = claim_due_outbox(
                    session, datetime.fromtimestamp(now, UTC), lease=LEASE, limit=limit
                )
                firsts = dict(
                    session.execute(
                        select(outbox.c.id, outbox.c.first_attempt_at).where(
                            outbox.c.id.in_([i.id for i in items])
                        )
                    ).all()
                )
            return [
                Claimed(
                    i.notification,
                    i.attempts,
                    None if firsts.get(i.id) is None else firsts[i.id].timestamp(),
                )
                for i in items
            ]

        return await asyncio.to_thread(guarded, self.engine, claim)

    async def record(self, claimed: Claimed, recorded: Recorded) -> None:
        n = claimed.notification

        def write() -> None:
            with transaction(self._sessions) as session:
                row_id = session.execute(
                    select(outbox.c.id).where(
                        outbox.c.idempotency_key == n.idempotency_key,
                        outbox.c.channel == n.channel,
                        outbox.c.address == n.address,
                    )
                ).scalar_one()
                now = datetime.now(UTC)
                error = (
                    None
                    if recorded.status == "delivered"
                    else f"{recorded.reason}: {recorded.detail}"
                )
                retry = recorded.next_attempt_at
                record_delivery(
                    session,
                    row_id,
                    now=now,
                    error=error,
                    retry_at=None if retry is None else datetime.fromtimestamp(retry, UTC),
                )
                session.execute(
                    update(outbox)
                    .where(outbox.c.id == row_id)
                    .values(first_attempt_at=datetime.fromtimestamp(recorded.first_attempt_at, UTC))
                )

        await asyncio.to_thread(guarded, self.engine, write)
