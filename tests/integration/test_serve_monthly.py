"""Monthly reports from a real `custodywatch serve`: when its event clock passes 00:00 on
the first of a month (London time), each LA's safeguarding partnership gets that LA's
report for the month just ended, once: by e-mail to a real SMTP server (aiosmtpd), with
the HTML report and its CSV zip attached, and as a small record on a Kafka topic.

On SQLite and PostgreSQL (two serves at once there); a restart, and the next month,
never resend a report. The children's person_refs appear only where the report shows
them (its longest-holds tables, in their own LA's attachment), never in a message body.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from mailkit import Mailbox, smtp_server
from sqlalchemy import func, select
from storekit import episode, episode_bytes, iso, migrated, session_of
from workers import Serve

from custodywatch.config import Settings, SmtpSettings, Topics
from custodywatch.contract.episodes import EpisodeSummary
from custodywatch.core.clock import to_us
from custodywatch.localkafka import KafkaConnection
from custodywatch.sim.force import LOCAL_AUTHORITIES
from custodywatch.sim.routing import force_routing
from custodywatch.store.apply import NoHooks, fold_batch
from custodywatch.store.fold import ensure_fold_topics
from custodywatch.store.schema import outbox
from custodywatch.stream.changelog import ensure_topics
from custodywatch.stream.publisher import send_ticks

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="session")]

FEBRUARY = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
# Two children in each of the first three LAs, none in the others (they still get a report).
WITH_CHILDREN = sorted(LOCAL_AUTHORITIES)[:3]


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    with smtp_server(box) as port:
        yield box, port


def partnership_address(la: str) -> str:
    return f"partnership@{la}.example.org"


def children() -> list[EpisodeSummary]:
    out = []
    for i, la in enumerate(WITH_CHILDREN):
        for j in range(2):
            n = 10 * i + j
            t0 = FEBRUARY + timedelta(days=n % 17, hours=j)
            base = episode(n, ended=True)
            out.append(
                replace(
                    base,
                    person_ref=f"PREF-{la}-{j}",
                    home_local_authority=la,
                    arrested_at=iso(t0 - timedelta(minutes=30)),
                    arrived_at=iso(t0 - timedelta(minutes=10)),
                    detention_authorised_at=iso(t0),
                    ended_at=iso(t0 + timedelta(hours=3 + 5 * j)),
                    updated_at=iso(t0 + timedelta(hours=3 + 5 * j)),
                )
            )
    return out


async def until(predicate: Callable[[], bool], what: str, within_s: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def kafka_reports(settings: Settings, topic: str, want: int) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        topic, **settings.kafka.client_kwargs(), group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    got: list[dict[str, Any]] = []
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while len(got) < want and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                got += [json.loads(r.value) for r in records]
    finally:
        await consumer.stop()
    return got


def attachments(message: EmailMessage) -> dict[str, bytes]:
    out = {}
    for part in message.iter_attachments():
        data = part.get_payload(decode=True)
        assert isinstance(data, bytes)
        out[str(part.get_filename())] = data
    return out


def body_text(message: EmailMessage) -> str:
    parts = [message.get_body((kind,)) for kind in ("plain", "html")]
    return "".join(p.get_content() for p in parts if p is not None)


def force(tmp_path: Path, settings: Settings, topic: str) -> Path:
    """Routing: each partnership by e-mail and on `topic`; everyone else on a topic."""

    def channels(recipient: str) -> list[dict[str, Any]]:
        if recipient.endswith("/safeguarding_partnership"):
            la = recipient.split("/")[1]
            return [
                {"type": "email", "address": partnership_address(la)},
                {"type": "kafka", "topic": topic},
            ]
        return [{"type": "kafka", "topic": settings.topics.notifications}]

    routing = tmp_path / "routing.yaml"
    routing.write_text(json.dumps(force_routing(channels)))  # JSON is YAML
    return routing


def check_email(message: EmailMessage, kids: list[EpisodeSummary]) -> None:
    _, la, month = str(message["X-Custodywatch-Idempotency-Key"]).split(":")
    title = "February 2026" if month == "2026-02" else "March 2026"
    assert la in str(message["Subject"]) and title in str(message["Subject"])
    assert message.get_content_type() == "multipart/mixed"
    files = attachments(message)
    html_name, zip_name = f"custodywatch-{la}-{month}.html", f"custodywatch-{la}-{month}-tables.zip"
    assert set(files) == {html_name, zip_name}
    html = files[html_name].decode("utf-8")
    assert f"home local authority {la}" in html and title in html
    assert "Small numbers suppressed: for distribution" in html
    with zipfile.ZipFile(io.BytesIO(files[zip_name])) as archive:
        assert title in archive.read("README.txt").decode()
    assert "PREF-" not in body_text(message)  # the message itself names no child
    own = {k.person_ref for k in kids if k.home_local_authority == la}
    others = {k.person_ref for k in kids} - own
    assert not any(ref in html for ref in others)  # never another LA's child
    if month == "2026-02" and own:
        assert all(ref in html for ref in own)  # the longest holds list them, pseudonymously
    else:
        assert "PREF-" not in html  # nobody detained: nobody listed


def check_kafka(records: list[dict[str, Any]], las: list[str]) -> None:
    for record in records:
        assert record["kind"] == "report" and record["alerts"] == []
        assert record["report"]["figures"][0]["key"] == "key_figures/children"
        raw = json.dumps(record)
        assert "PREF-" not in raw and "<!DOCTYPE" not in raw  # figures, never the report
        assert len(raw) < 6_000
    february = {
        r["report"]["local_authority"]: r["report"]["figures"][0]["value"]
        for r in records
        if r["report"]["month"] == "2026-02"
    }
    assert february == {la: "<5" if la in WITH_CHILDREN else "0" for la in las}


async def test_each_partnership_gets_its_las_report_once_by_email_and_kafka(
    kafka: KafkaConnection,
    database_url: str,
    serves: list[Serve],
    mailbox: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    instances = 1 if database_url.startswith("sqlite") else 2  # SQLite: one serve only
    box, smtp_port = mailbox
    run = uuid.uuid4().hex[:8]
    topic = f"partnership-reports-{run}"
    settings = Settings(
        kafka=kafka,
        topics=Topics.prefixed(f"m-{run}"),
        group_id=f"g-{run}",
        partitions=2,
        smtp=SmtpSettings(
            host="127.0.0.1", port=smtp_port, starttls="off", from_address="reports@force.example"
        ),
    )
    await ensure_topics(settings)
    await ensure_fold_topics(settings)
    engine = migrated(database_url)
    kids = children()
    with session_of(engine) as session:  # the fold is tested elsewhere: write the store as it does
        fold_batch(session, [], [("test", episode_bytes(k)) for k in kids], NoHooks())
    env = {
        **os.environ,
        **settings.to_env(),
        "CUSTODYWATCH_DATABASE_URL": database_url,
        "CUSTODYWATCH_ROUTING": str(force(tmp_path, settings, topic)),
        "CUSTODYWATCH_SERVE_METRICS_PORT": "0",
    }
    command = [sys.executable, "-m", "custodywatch.cli", "serve", "--clock-mode", "event"]
    serves += [Serve(command, env, tmp_path / f"serve-{i}.log") for i in range(instances)]

    def delivered_all() -> bool:
        with session_of(engine) as session:
            waiting = session.scalar(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.idempotency_key.startswith("report:"))
                .where(outbox.c.delivered_at.is_(None))
            )
        return waiting == 0

    las = sorted(LOCAL_AUTHORITIES)
    await send_ticks(settings, to_us(datetime(2026, 3, 1, 0, 0, 1, tzinfo=UTC)))
    await until(lambda: len(box.messages) >= len(las), "one e-mail per partnership")
    await until(delivered_all, "every report delivery recorded")
    # A restart (every serve stopped, one started), then the next month.
    assert [serve.terminate() for serve in serves] == [0] * instances
    serves.append(Serve(command, env, tmp_path / "serve-restarted.log"))
    await send_ticks(settings, to_us(datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC)))
    await until(lambda: len(box.messages) >= 2 * len(las), "March's reports")
    await until(delivered_all, "every report delivery recorded")
    assert serves[-1].terminate() == 0

    sent = Counter((str(m["To"]), str(m["X-Custodywatch-Idempotency-Key"])) for m in box.messages)
    want = {
        (partnership_address(la), f"report:{la}:{month}"): 1
        for la in las
        for month in ("2026-02", "2026-03")
    }
    assert sent == want  # once each; not January (before the data), not April (not ended)
    for message in box.messages:
        check_email(message, kids)
    records = await kafka_reports(settings, topic, 2 * len(las))
    assert Counter(r["idempotency_key"] for r in records) == Counter(k for _, k in want)
    check_kafka(records, las)
