"""Drafts: unfinished answers, sealed, with an optional resume code.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from casefeedback.storage.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = 36


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.String(64), sa.ForeignKey("policy_versions.version"), nullable=False),
        sa.Column("invitation_id", sa.String(ID), sa.ForeignKey("invitations.id"), nullable=True),
        sa.Column("consent_version", sa.Integer, nullable=False),
        sa.Column("consent_language", sa.String(8), nullable=False),
        sa.Column("consent_choices", sa.Text, nullable=False),
        sa.Column("consent_given_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("resume_hash", sa.String(64), nullable=True, unique=True),
    )
    op.create_index("ix_drafts_expires_at", "drafts", ["expires_at"])
    op.create_table(
        "draft_answers",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("draft_id", sa.String(ID), sa.ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("question_id", sa.String(64), nullable=False),
        sa.Column("field_class", sa.String(64), nullable=False),
        sa.Column("data_key_id", sa.String(ID), nullable=False),
        sa.Column("kek_id", sa.String(40), nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("draft_id", "question_id", name="one_draft_answer_per_question"),
    )
    op.create_index("ix_draft_answers_draft_id", "draft_answers", ["draft_id"])
    op.create_index("ix_draft_answers_kek_id", "draft_answers", ["kek_id"])


def downgrade() -> None:
    op.drop_table("draft_answers")
    op.drop_table("drafts")
