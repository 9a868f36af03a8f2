"""Alerts: the alerts themselves, who was told, the outbox, delivery attempts, duty rota, absences.

Revision ID: 0006
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from casefeedback.storage.tables import UTCDateTime

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = 36


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("reference", sa.String(16), nullable=False, unique=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("submission_id", sa.String(ID), nullable=False),
        sa.Column("case_id", sa.String(ID), nullable=True),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("chain", sa.Text, nullable=False),
        sa.Column("acknowledge_seconds", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("deadline_at", UTCDateTime(), nullable=True),
        sa.Column("exhausted_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(ID), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(ID), nullable=True),
        sa.Column("data_key_id", sa.String(ID), nullable=True),
        sa.Column("kek_id", sa.String(40), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=True),
        sa.Column("ciphertext", sa.LargeBinary, nullable=True),
    )
    op.create_index("ix_alerts_submission_id", "alerts", ["submission_id"])
    op.create_index("ix_alerts_case_id", "alerts", ["case_id"])
    op.create_index("ix_alerts_deadline_at", "alerts", ["deadline_at"])
    op.create_table(
        "alert_recipients",
        sa.Column("alert_id", sa.String(ID), sa.ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("staff_id", sa.String(ID), sa.ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("relation", sa.String(32), nullable=False),
        sa.Column("told_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_alert_recipients_staff_id", "alert_recipients", ["staff_id"])
    op.create_table(
        "alert_notifications",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("alert_id", sa.String(ID), sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(120), nullable=True),
        sa.UniqueConstraint("alert_id", "recipient", "channel", name="uq_alert_notification_once"),
    )
    op.create_index("ix_alert_notifications_alert_id", "alert_notifications", ["alert_id"])
    op.create_index("ix_alert_notifications_next_attempt_at", "alert_notifications", ["next_attempt_at"])
    op.create_table(
        "alert_attempts",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("notification_id", sa.String(ID), sa.ForeignKey("alert_notifications.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.String(120), nullable=True),
    )
    op.create_index("ix_alert_attempts_notification_id", "alert_attempts", ["notification_id"])
    op.create_table(
        "duty_rota",
        sa.Column("service_id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("staff_id", sa.String(ID), sa.ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_table(
        "staff_absences",
        sa.Column("staff_id", sa.String(ID), sa.ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("set_by", sa.String(ID), nullable=True),
    )


def downgrade() -> None:
    for name in ("staff_absences", "duty_rota", "alert_attempts", "alert_notifications", "alert_recipients",
                 "alerts"):
        op.drop_table(name)
