"""The store's tables (SQLAlchemy 2 Core metadata; the migrations create the same).

Times are `UtcDateTime`: timezone-aware UTC datetimes in Python on every engine
(`timestamptz` on PostgreSQL; on SQLite a fixed-width naive-UTC text that sorts
in time order).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime in, an aware UTC datetime out; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: times must carry a zone")
        utc = value.astimezone(UTC)
        # SQLite has no zone type: store naive UTC so the text sorts in time order.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

episodes = Table(
    "episodes",
    metadata,
    Column("custody_record_id", String(200), primary_key=True),
    Column("suite_id", String(200), nullable=False, index=True),
    Column("home_local_authority", String(200), nullable=False, index=True),
    Column("juvenile", Boolean, nullable=False),
    Column("t0", UtcDateTime, nullable=False, index=True),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("summary", JSON, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("alert_id", String(400), primary_key=True),
    Column("rule", String(100), nullable=False),
    Column("stage", String(100), nullable=False),
    Column("instance", String(200), nullable=True),
    Column("severity", String(20), nullable=False),
    Column("state", String(20), nullable=False, index=True),
    Column("custody_record_id", String(200), nullable=False, index=True),
    Column("person_ref", String(200), nullable=False),
    Column("suite_id", String(200), nullable=False, index=True),
    Column("home_local_authority", String(200), nullable=False, index=True),
    Column("due_at", UtcDateTime, nullable=False),
    Column("raised_at", UtcDateTime, nullable=False, index=True),
    Column("state_at", UtcDateTime, nullable=False),
    Column("summary", Text, nullable=False),
    Column("ack_by", String(200), nullable=True),
    Column("ack_role", String(100), nullable=True),
    Column("ack_at", UtcDateTime, nullable=True),
    Column("ack_note", Text, nullable=True),
    Column("escalation_step", Integer, nullable=True),
    Column("next_step_at", UtcDateTime, nullable=True, index=True),
    # The lifecycle core's case (its steps, who was told, the ack): `Case.to_dict()`.
    Column("lifecycle", JSON, nullable=True),
)

LOG_KINDS = (
    "raised",
    "resolved",
    "retracted",
    "notified",
    "delivery_attempt",
    "acknowledged",
    "escalated",
)

alert_log = Table(
    "alert_log",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("alert_id", String(400), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    # Who acknowledged, or the recipient notified / attempted; None for the rules engine.
    Column("actor", String(200), nullable=True),
    Column("details", JSON, nullable=False),
    Column("dedup_key", String(600), nullable=False, unique=True),
    Index("ix_alert_log_alert_id_id", "alert_id", "id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    # One recipient's channels share the notification's idempotency key: a row per
    # (key, channel, address) is one delivery.
    Column("idempotency_key", String(800), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("address", String(500), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=True, index=True),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("first_attempt_at", UtcDateTime, nullable=True),  # the 24 h of retries start here
    # Grouping: (recipient, custody record, kind, channel, address), and until when a
    # row is held to gather that record's later alerts (its window).
    Column("group_key", String(1200), nullable=True, index=True),
    Column("held_until", UtcDateTime, nullable=True),
    UniqueConstraint("idempotency_key", "channel", "address", name="uq_outbox_delivery"),
)

# A local authority's report for a month, rendered once when first due: every channel
# and every retry sends these bytes (a month's figures can still move while its last
# detentions end; the partnership gets one report per month, not several versions).
monthly_reports = Table(
    "monthly_reports",
    metadata,
    Column("local_authority", String(200), primary_key=True),
    Column("month", String(7), primary_key=True),  # YYYY-MM
    Column("generated_at", UtcDateTime, nullable=False),
    Column("html", LargeBinary, nullable=False),
    Column("csv_zip", LargeBinary, nullable=False),
    Column("notice", JSON, nullable=False),  # the ReportNotice: figures and definitions
)

consumer_offsets = Table(
    "consumer_offsets",
    metadata,
    Column("group_id", String(200), primary_key=True),
    Column("topic", String(300), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
)
