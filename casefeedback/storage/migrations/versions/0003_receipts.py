"""Receipts: additions linked to the feedback they add to, and the history of consent changes.

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from casefeedback.storage.tables import UTCDateTime

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = 36


def upgrade() -> None:
    op.create_table(
        "submission_additions",
        sa.Column("submission_id", sa.String(ID), sa.ForeignKey("submissions.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("parent_id", sa.String(ID), sa.ForeignKey("submissions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_submission_additions_parent_id", "submission_additions", ["parent_id"])
    op.create_table(
        "consent_changes",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("submission_id", sa.String(ID), sa.ForeignKey("submissions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("choice", sa.String(32), nullable=False),
        sa.Column("value", sa.Boolean, nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_consent_changes_submission_id", "consent_changes", ["submission_id"])


def downgrade() -> None:
    op.drop_index("ix_consent_changes_submission_id", "consent_changes")
    op.drop_table("consent_changes")
    op.drop_index("ix_submission_additions_parent_id", "submission_additions")
    op.drop_table("submission_additions")
