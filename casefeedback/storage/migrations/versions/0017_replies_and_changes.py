"""Replies to feedback (sealed, for the person who gave it) and published changes ("You said, we did").

Revision ID: 0017
Revises: 0016

Two new tables, empty at first: nothing existing changes.
"""

import sqlalchemy as sa
from alembic import op

from casefeedback.storage.tables import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

ID = 36


def upgrade() -> None:
    op.create_table(
        "feedback_replies",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("submission_id", sa.String(ID), sa.ForeignKey("submissions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("field_class", sa.String(64), nullable=False),
        sa.Column("data_key_id", sa.String(ID), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("written_by", sa.String(ID), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("written_at", UTCDateTime(), nullable=False),
        sa.Column("form_nonce", sa.String(64), nullable=False, unique=True),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_feedback_replies_submission_id", "feedback_replies", ["submission_id"])
    op.create_index("ix_feedback_replies_data_key_id", "feedback_replies", ["data_key_id"])
    op.create_table(
        "published_changes",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("period_starts", UTCDateTime(), nullable=False),
        sa.Column("said", sa.Text, nullable=False),
        sa.Column("did", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(ID), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("form_nonce", sa.String(64), nullable=False, unique=True),
        sa.CheckConstraint("status IN ('draft','published','unpublished')", name="published_change_status_known"),
    )
    op.create_index("ix_published_changes_service_status", "published_changes",
                    ["service_id", "status", "period_starts"])


def downgrade() -> None:
    op.drop_table("published_changes")
    op.drop_table("feedback_replies")
