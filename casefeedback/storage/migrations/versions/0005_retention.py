"""Retention, legal hold, the erasure ledger, insight contributions, audit checkpoints, keys, worker jobs.

Revision ID: 0005
Revises: 0001
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from casefeedback.storage.tables import UTCDateTime

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = 36


def upgrade() -> None:
    identity = op.create_table(
        "instance_identity",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("instance_id", sa.String(ID), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("id = 1", name="instance_identity_single_row"),
    )
    # Made once, at random: a backup or checkpoint names the instance it came from.
    op.bulk_insert(identity, [{"id": 1, "instance_id": str(uuid.uuid4()), "created_at": datetime.now(UTC)}])
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("case_id", sa.String(ID), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("set_by", sa.String(ID), nullable=True),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column("released_by", sa.String(ID), nullable=True),
        sa.Column("release_reason", sa.Text, nullable=True),
    )
    op.create_index("ix_legal_holds_case_id", "legal_holds", ["case_id"])
    op.create_table(
        "erased_keys",
        sa.Column("data_key_id", sa.String(ID), primary_key=True),
        sa.Column("submission_id", sa.String(ID), nullable=False),
        sa.Column("field_class", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("erased_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_erased_keys_submission_id", "erased_keys", ["submission_id"])
    op.create_table(
        "purge_runs",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("data_keys", sa.Integer, nullable=False),
        sa.Column("fields", sa.Integer, nullable=False),
    )
    op.create_index("ix_purge_runs_as_of", "purge_runs", ["as_of"])
    op.create_table(
        "insight_contributions",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("question_id", sa.String(64), nullable=False),
        sa.Column("answer", sa.String(64), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_insight_contributions_service_id", "insight_contributions", ["service_id"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("mac", sa.String(64), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("previous_seq", sa.Integer, nullable=True),
        sa.Column("previous_mac", sa.String(64), nullable=True),
        sa.Column("key_check", sa.String(32), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )
    op.create_table(
        "retired_keks",
        sa.Column("kek_id", sa.String(40), primary_key=True),
        sa.Column("retired_at", UTCDateTime(), nullable=False),
    )
    # Erasing a data key cascades to its answers: index the foreign key (see tables.py).
    op.create_index("ix_answers_data_key_id", "answers", ["data_key_id"])
    op.create_table(
        "worker_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("last_started_at", UTCDateTime(), nullable=True),
        sa.Column("last_finished_at", UTCDateTime(), nullable=True),
        sa.Column("last_outcome", sa.String(16), nullable=True),
        sa.Column("last_error", sa.String(120), nullable=True),
        sa.Column("runs", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("worker_jobs", "retired_keks", "audit_checkpoints", "insight_contributions", "purge_runs",
                  "erased_keys", "legal_holds", "instance_identity"):
        op.drop_table(table)
    op.drop_index("ix_answers_data_key_id", "answers")
