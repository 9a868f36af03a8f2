"""The initial schema: policies, staff, cases, submissions, field encryption, audit.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from casefeedback.storage.dialect import new_database_statements
from casefeedback.storage.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = 36


def upgrade() -> None:
    for statement in new_database_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.create_table(
        "policy_versions",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("first_loaded_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(ID), sa.ForeignKey("teams.id"), nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("password_changed_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "role IN ('caseworker','supervisor','duty_manager','auditor','analyst','administrator')",
            name="staff_role_known",
        ),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("staff_id", sa.String(ID), sa.ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_staff_sessions_staff_id", "staff_sessions", ["staff_id"])
    op.create_table(
        "cases",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(ID), sa.ForeignKey("teams.id"), nullable=False),
        sa.Column("owner_id", sa.String(ID), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("deputy_id", sa.String(ID), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('open','closed')", name="case_status_known"),
    )
    op.create_index("ix_cases_owner_id", "cases", ["owner_id"])
    op.create_table(
        "invitations",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("case_id", sa.String(ID), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("uses_left", sa.Integer, nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(ID), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_invitations_case_id", "invitations", ["case_id"])
    op.create_table(
        "submissions",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.String(64), sa.ForeignKey("policy_versions.version"), nullable=False),
        sa.Column("case_id", sa.String(ID), sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("receipt_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.CheckConstraint("status IN ('active','withdrawn')", name="submission_status_known"),
    )
    op.create_index("ix_submissions_service_id", "submissions", ["service_id"])
    op.create_index("ix_submissions_case_id", "submissions", ["case_id"])
    op.create_table(
        "consent_receipts",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("submission_id", sa.String(ID), sa.ForeignKey("submissions.id", ondelete="CASCADE"),
                  nullable=False, unique=True),
        sa.Column("consent_version", sa.Integer, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("choices", sa.Text, nullable=False),
        sa.Column("given_at", UTCDateTime(), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "data_keys",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("submission_id", sa.String(ID), sa.ForeignKey("submissions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("field_class", sa.String(64), nullable=False),
        sa.Column("kek_id", sa.String(40), nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("submission_id", "field_class", name="one_data_key_per_class"),
    )
    op.create_index("ix_data_keys_kek_id", "data_keys", ["kek_id"])
    op.create_table(
        "answers",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("submission_id", sa.String(ID), sa.ForeignKey("submissions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("question_id", sa.String(64), nullable=False),
        sa.Column("field_class", sa.String(64), nullable=False),
        sa.Column("data_key_id", sa.String(ID), sa.ForeignKey("data_keys.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("submission_id", "question_id", name="one_answer_per_question"),
    )
    op.create_index("ix_answers_submission_id", "answers", ["submission_id"])
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor_id", sa.String(ID), nullable=True),
        sa.Column("actor_role", sa.String(32), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=True),
        sa.Column("object_id", sa.String(ID), nullable=True),
        sa.Column("field_class", sa.String(64), nullable=True),
        sa.Column("purpose", sa.String(32), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name="audit_head_single_row"),
    )


def downgrade() -> None:
    for table in ("audit_head", "audit_events", "answers", "data_keys", "consent_receipts", "submissions",
                  "invitations", "cases", "staff_sessions", "staff", "teams", "policy_versions"):
        op.drop_table(table)
