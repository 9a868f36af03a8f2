"""Staff: second factor, recovery codes, sign-in throttling, re-authentication, break-glass,
notifications, sealed case outcomes and who has read which feedback.

Revision ID: 0004
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from casefeedback.storage.tables import UTCDateTime

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = 36


def _staff_fk(ondelete: str | None = "CASCADE") -> sa.ForeignKey:
    return sa.ForeignKey("staff.id", ondelete=ondelete) if ondelete else sa.ForeignKey("staff.id")


def upgrade() -> None:
    op.create_table(
        "staff_mfa",
        sa.Column("staff_id", sa.String(ID), _staff_fk(), primary_key=True),
        sa.Column("totp_secret", sa.String(64), nullable=False),
        sa.Column("enrolled_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_step", sa.Integer, nullable=False),
    )
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("staff_id", sa.String(ID), _staff_fk(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_staff_recovery_codes_staff_id", "staff_recovery_codes", ["staff_id"])
    op.create_table(
        "sign_in_challenges",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("staff_id", sa.String(ID), _staff_fk(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sign_in_challenges_staff_id", "sign_in_challenges", ["staff_id"])
    op.create_table(
        "sign_in_throttle",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failure_at", UTCDateTime(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
    )
    with op.batch_alter_table("staff_sessions") as batch:
        batch.add_column(sa.Column("reauthenticated_at", UTCDateTime(), nullable=True))
    op.create_table(
        "break_glass",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("staff_id", sa.String(ID), _staff_fk(None), nullable=False),
        sa.Column("case_id", sa.String(ID), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_break_glass_staff_id", "break_glass", ["staff_id"])
    op.create_index("ix_break_glass_case_id", "break_glass", ["case_id"])
    op.create_table(
        "staff_notifications",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("recipient_id", sa.String(ID), _staff_fk(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("case_id", sa.String(ID), sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("subject_id", sa.String(ID), nullable=True),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_staff_notifications_recipient_id", "staff_notifications", ["recipient_id"])
    op.create_table(
        "case_outcomes",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("case_id", sa.String(ID), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("recorded_by", sa.String(ID), _staff_fk(None), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("form_nonce", sa.String(64), nullable=False, unique=True),
        sa.Column("data_key_id", sa.String(ID), nullable=False),
        sa.Column("kek_id", sa.String(40), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_case_outcomes_case_id", "case_outcomes", ["case_id"])
    op.create_table(
        "submission_reads",
        sa.Column("staff_id", sa.String(ID), _staff_fk(), primary_key=True),
        sa.Column("submission_id", sa.String(ID), sa.ForeignKey("submissions.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("first_read_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_submission_reads_submission_id", "submission_reads", ["submission_id"])


def downgrade() -> None:
    for table in ("submission_reads", "case_outcomes", "staff_notifications", "break_glass"):
        op.drop_table(table)
    with op.batch_alter_table("staff_sessions") as batch:
        batch.drop_column("reauthenticated_at")
    for table in ("sign_in_throttle", "sign_in_challenges", "staff_recovery_codes", "staff_mfa"):
        op.drop_table(table)
