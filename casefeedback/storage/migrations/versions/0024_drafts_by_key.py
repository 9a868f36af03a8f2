"""Drafts and their saved answers are each stored by their key: fewer b-trees for a save and a send to change.

Revision ID: 0024
Revises: 0023

Every reader and writer of ``draft_answers`` asks by draft, or by draft and
question: saving an answer replaces the draft's row for that question, sending
erases the draft's rows, the expiry sweep erases expired drafts' rows. Since
0022 the table was stored by its row id and also held two indexes: the unique
(draft_id, question_id) those lookups used, and one of ``kek_id`` that only a
key rotation reads. A draft's own row was in a rowid table beside an index of
its id and a unique index of ``resume_hash`` holding a NULL for every draft
without a resume code (most). So every save and every send changed a page in
each of six b-trees, and on SQLCipher every one of those pages is read and
decrypted again inside the writer lock after another process has written.

Now:
- ``draft_answers``' primary key is (draft_id, question_id), under the unique
  constraint's name, and the table is stored in its order (WITHOUT ROWID on
  SQLite): one b-tree. The row id stays a column, as each is bound into its
  ciphertext; nothing looks a row up by it alone. The index of ``kek_id`` goes:
  a rotation scans the table instead (drafts are few and short-lived) and
  re-wraps a row by its primary key (crypto/rotation.py).
- ``drafts`` is stored in the order of its id (WITHOUT ROWID), and ``resume_hash``
  is unique through a partial index over the drafts that have one
  (``resume_hash = ?`` implies NOT NULL, so both engines still use it).

Counted on SQLCipher with two processes sending (a uprobe on SQLCipher's page
cipher), pages per send: read 69 -> 50-54 and written 43 -> 36-39 for
``draft_answers``, then about 3 fewer read and 2 fewer written for ``drafts``.

Both tables are put aside and made again (a primary key's storage cannot change
in place on SQLite), the child before its parent is dropped, so dropping
``drafts`` has nothing to cascade to. On PostgreSQL they are made again the same
way, with the same columns, keys and indexes.
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from casefeedback.storage.schema.base import ID, UTCDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_DRAFT_COLUMNS = ("id, service_id, policy_version, invitation_id, consent_version, consent_language, "
                  "consent_choices, consent_given_at, created_at, updated_at, expires_at, resume_hash")
_ANSWER_COLUMNS = "id, draft_id, question_id, field_class, data_key_id, kek_id, wrapped, ciphertext, saved_at"
_ONE_PER_QUESTION = "one_draft_answer_per_question"


def _drafts(keyed: bool, *, by_key: bool) -> list[Any]:
    """The drafts table's columns (``keyed``: with its keys, as made for good; ``by_key``: as 0024 leaves it)."""
    return [sa.Column("id", sa.String(ID), primary_key=keyed, nullable=False),
            sa.Column("service_id", sa.String(64), nullable=False),
            sa.Column("policy_version", sa.String(64), *([sa.ForeignKey("policy_versions.version")] if keyed else []),
                      nullable=False),
            sa.Column("invitation_id", sa.String(ID), *([sa.ForeignKey("invitations.id")] if keyed else []),
                      nullable=True),
            sa.Column("consent_version", sa.Integer, nullable=False),
            sa.Column("consent_language", sa.String(8), nullable=False),
            sa.Column("consent_choices", sa.Text, nullable=False),
            sa.Column("consent_given_at", UTCDateTime(), nullable=False),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.Column("updated_at", UTCDateTime(), nullable=False),
            sa.Column("expires_at", UTCDateTime(), nullable=False),
            sa.Column("resume_hash", sa.String(64), nullable=True, unique=keyed and not by_key)]


def _answers(keyed: bool, *, by_key: bool) -> list[Any]:
    draft = [sa.ForeignKey("drafts.id", ondelete="CASCADE")] if keyed else []
    columns: list[Any] = [
        sa.Column("id", sa.String(ID), primary_key=keyed and not by_key, nullable=False),
        sa.Column("draft_id", sa.String(ID), *draft, nullable=False),
        sa.Column("question_id", sa.String(64), nullable=False),
        sa.Column("field_class", sa.String(64), nullable=False),
        sa.Column("data_key_id", sa.String(ID), nullable=False),
        sa.Column("kek_id", sa.String(40), nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False)]
    if keyed:
        columns.append(sa.PrimaryKeyConstraint("draft_id", "question_id", name=_ONE_PER_QUESTION) if by_key
                       else sa.UniqueConstraint("draft_id", "question_id", name=_ONE_PER_QUESTION))
    return columns


def _rebuild(*, by_key: bool) -> None:
    # Aside first, the child before the parent: with foreign keys enforced, dropping drafts while draft_answers
    # still referred to it would erase every saved answer (ON DELETE CASCADE).
    op.create_table("drafts_aside", *_drafts(False, by_key=by_key))
    op.execute(f"INSERT INTO drafts_aside ({_DRAFT_COLUMNS}) SELECT {_DRAFT_COLUMNS} FROM drafts")  # noqa: S608
    op.create_table("draft_answers_aside", *_answers(False, by_key=by_key))
    op.execute(f"INSERT INTO draft_answers_aside ({_ANSWER_COLUMNS}) "  # noqa: S608 - constant names
               f"SELECT {_ANSWER_COLUMNS} FROM draft_answers")
    op.drop_table("draft_answers")
    op.drop_table("drafts")

    op.create_table("drafts", *_drafts(True, by_key=by_key), sqlite_with_rowid=not by_key)
    op.create_index("ix_drafts_expires_at", "drafts", ["expires_at"])
    if by_key:
        op.create_index("ix_drafts_resume_hash", "drafts", ["resume_hash"], unique=True,
                        sqlite_where=sa.text("resume_hash IS NOT NULL"),
                        postgresql_where=sa.text("resume_hash IS NOT NULL"))
    op.create_table("draft_answers", *_answers(True, by_key=by_key), sqlite_with_rowid=False)
    if not by_key:
        op.create_index("ix_draft_answers_kek_id", "draft_answers", ["kek_id"])

    op.execute(f"INSERT INTO drafts ({_DRAFT_COLUMNS}) SELECT {_DRAFT_COLUMNS} FROM drafts_aside "  # noqa: S608
               "ORDER BY id")
    order = "draft_id, question_id" if by_key else "id"
    op.execute(f"INSERT INTO draft_answers ({_ANSWER_COLUMNS}) SELECT {_ANSWER_COLUMNS} "  # noqa: S608
               f"FROM draft_answers_aside ORDER BY {order}")
    op.drop_table("draft_answers_aside")
    op.drop_table("drafts_aside")


def upgrade() -> None:
    _rebuild(by_key=True)


def downgrade() -> None:
    _rebuild(by_key=False)
