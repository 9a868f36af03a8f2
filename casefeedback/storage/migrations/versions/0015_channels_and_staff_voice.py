"""Channels, failure demand and the voice of staff (issue 15).

Revision ID: 0015
Revises: 0014

submission_channels records how a submission came when not through the person's
own web form (a phone call, in person, a paper form, a kiosk...): the channel,
how consent was given and its exact text, who recorded it. Every submission
made before this migration came through the web form, so none has a row.
failure_demand and staff_voice start empty; neither names a case or a person.
"""

import sqlalchemy as sa
from alembic import op

from casefeedback.storage.tables import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submission_channels",
        sa.Column("submission_id", sa.String(36), sa.ForeignKey("submissions.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("consent_method", sa.String(16), nullable=False),
        sa.Column("consent_text", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.String(36), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("api_client_id", sa.String(36), nullable=True),
        sa.CheckConstraint("consent_method IN ('online','verbal','written','channel')",
                           name="consent_method_known"),
    )
    op.create_index("ix_submission_channels_channel", "submission_channels", ["channel"])
    op.create_table(
        "failure_demand",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_failure_demand_service_occurred", "failure_demand", ["service_id", "occurred_at"])
    op.create_table(
        "staff_voice",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("impact", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_staff_voice_service_occurred", "staff_voice", ["service_id", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_staff_voice_service_occurred", table_name="staff_voice")
    op.drop_table("staff_voice")
    op.drop_index("ix_failure_demand_service_occurred", table_name="failure_demand")
    op.drop_table("failure_demand")
    op.drop_index("ix_submission_channels_channel", table_name="submission_channels")
    op.drop_table("submission_channels")
