"""Drop four indexes: three that a unique constraint's index already provides, one that nothing reads.

Revision ID: 0020
Revises: 0019

Each index is one more page to find, change, encrypt and write on every insert
and every delete — inside the write transaction every other writer waits on.
These three repeat the leading column of a composite index the same table
already has, which serves every query (and every ON DELETE CASCADE) they did:

* ``submissions.service_id``  — ``ix_submissions_service_submitted`` (service_id, submitted_at)
* ``answers.submission_id``   — the unique (submission_id, question_id)
* ``draft_answers.draft_id``  — the unique (draft_id, question_id)

and ``erased_keys.submission_id``, which no query has ever used (the ledger is
read whole, or by data key id): one more random page per destroyed key in every
retention purge's transactions.
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_DROPPED = (("ix_submissions_service_id", "submissions", "service_id"),
            ("ix_answers_submission_id", "answers", "submission_id"),
            ("ix_draft_answers_draft_id", "draft_answers", "draft_id"),
            ("ix_erased_keys_submission_id", "erased_keys", "submission_id"))


def upgrade() -> None:
    for name, table, _column in _DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, column in _DROPPED:
        op.create_index(name, table, [column])
