"""The first schema: episodes, alerts, alert_log, outbox, consumer_offsets.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The same as custodywatch.store.schema at this revision (a test compares them).
TIME = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "episodes",
        sa.Column("custody_record_id", sa.String(200), primary_key=True),
        sa.Column("suite_id", sa.String(200), nullable=False),
        sa.Column("home_local_authority", sa.String(200), nullable=False),
        sa.Column("juvenile", sa.Boolean(), nullable=False),
        sa.Column("t0", TIME, nullable=False),
        sa.Column("ended_at", TIME, nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
    )
    for column in ("suite_id", "home_local_authority", "t0"):
        op.create_index(f"ix_episodes_{column}", "episodes", [column])

    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(400), primary_key=True),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("stage", sa.String(100), nullable=False),
        sa.Column("instance", sa.String(200), nullable=True),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("custody_record_id", sa.String(200), nullable=False),
        sa.Column("person_ref", sa.String(200), nullable=False),
        sa.Column("suite_id", sa.String(200), nullable=False),
        sa.Column("home_local_authority", sa.String(200), nullable=False),
        sa.Column("due_at", TIME, nullable=False),
        sa.Column("raised_at", TIME, nullable=False),
        sa.Column("state_at", TIME, nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("ack_by", sa.String(200), nullable=True),
        sa.Column("ack_role", sa.String(100), nullable=True),
        sa.Column("ack_at", TIME, nullable=True),
        sa.Column("ack_note", sa.Text(), nullable=True),
        sa.Column("escalation_step", sa.Integer(), nullable=True),
        sa.Column("next_step_at", TIME, nullable=True),
        sa.Column("lifecycle", sa.JSON(), nullable=True),
    )
    for column in (
        "state",
        "custody_record_id",
        "suite_id",
        "home_local_authority",
        "raised_at",
        "next_step_at",
    ):
        op.create_index(f"ix_alerts_{column}", "alerts", [column])

    op.create_table(
        "alert_log",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(400), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("dedup_key", sa.String(600), nullable=False, unique=True),
    )
    op.create_index("ix_alert_log_alert_id_id", "alert_log", ["alert_id", "id"])

    op.create_table(
        "outbox",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(800), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=True),
        sa.Column("delivered_at", TIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("first_attempt_at", TIME, nullable=True),
        sa.Column("group_key", sa.String(1200), nullable=True),
        sa.Column("held_until", TIME, nullable=True),
        sa.UniqueConstraint("idempotency_key", "channel", "address", name="uq_outbox_delivery"),
    )
    op.create_index("ix_outbox_next_attempt_at", "outbox", ["next_attempt_at"])
    op.create_index("ix_outbox_group_key", "outbox", ["group_key"])

    op.create_table(
        "consumer_offsets",
        sa.Column("group_id", sa.String(200), primary_key=True),
        sa.Column("topic", sa.String(300), primary_key=True),
        sa.Column("partition", sa.Integer(), primary_key=True),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for table in ("consumer_offsets", "outbox", "alert_log", "alerts", "episodes"):
        op.drop_table(table)
