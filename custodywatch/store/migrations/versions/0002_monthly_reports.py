"""Monthly reports: each LA's rendered report for a month, sent to its partnership.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The same as custodywatch.store.schema at this revision (a test compares them).
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "monthly_reports",
        sa.Column("local_authority", sa.String(200), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("generated_at", TIME, nullable=False),
        sa.Column("html", sa.LargeBinary(), nullable=False),
        sa.Column("csv_zip", sa.LargeBinary(), nullable=False),
        sa.Column("notice", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("monthly_reports")
