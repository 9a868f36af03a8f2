"""Insight: pre-aggregated counts of de-identified contributions.

Revision ID: 0007
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from casefeedback.storage.tables import UTCDateTime

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = 36


def upgrade() -> None:
    op.create_table(
        "insight_counts",
        sa.Column("service_id", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.String(ID), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("question_id", sa.String(64), primary_key=True),
        sa.Column("answer", sa.String(64), primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
        sa.CheckConstraint("n >= 0", name="insight_count_not_negative"),
    )
    op.create_table(
        "insight_submission_counts",
        sa.Column("service_id", sa.String(64), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("team_id", sa.String(ID), primary_key=True),
        sa.Column("received", sa.Integer, nullable=False),
        sa.Column("shared", sa.Integer, nullable=False),
        sa.Column("asked", sa.Integer, nullable=False),
    )
    op.create_table(
        "insight_submission_months",
        sa.Column("service_id", sa.String(64), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("refreshed_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_submissions_service_submitted", "submissions", ["service_id", "submitted_at"])


def downgrade() -> None:
    op.drop_index("ix_submissions_service_submitted", table_name="submissions")
    op.drop_table("insight_submission_months")
    op.drop_table("insight_submission_counts")
    op.drop_table("insight_counts")
