"""Feedback with no case is not in the index of submissions by case.

Revision ID: 0023
Revises: 0022

General feedback (the service's own address, or a person who chose not to tie
it to their case) has no case: its entry in ``ix_submissions_case_id`` was a
NULL that no query looks up — every reader asks for one case's submissions, or
a list of cases', which only an entry with a case can answer. Each send still
found, changed, encrypted and wrote a page of that index inside the write
transaction every other writer waits on. A partial index keeps only the rows
with a case; ``case_id = ?`` and ``case_id IN (…)`` imply ``IS NOT NULL``, so
both engines' planners still use it for those.
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_WITH_A_CASE = sa.text("case_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_submissions_case_id", table_name="submissions")
    op.create_index("ix_submissions_case_id", "submissions", ["case_id"], sqlite_where=_WITH_A_CASE,
                    postgresql_where=_WITH_A_CASE)


def downgrade() -> None:
    op.drop_index("ix_submissions_case_id", table_name="submissions")
    op.create_index("ix_submissions_case_id", "submissions", ["case_id"])
