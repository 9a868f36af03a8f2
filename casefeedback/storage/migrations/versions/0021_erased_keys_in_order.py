"""The erasure ledger's table keeps its rows in the order they were erased, with no index on the key id.

Revision ID: 0021
Revises: 0020

Its primary key was the destroyed key's (random) id: every key a retention
purge destroys cost one more random page of that index, changed, encrypted and
written inside the write transaction senders wait on. Nothing looks a key up
there — the ledger is read whole (``retention/ledger.py``, ``backup/restore.py``)
— so the rows now get a number in the order they are written (SQLite's rowid;
a serial on PostgreSQL) and a purge transaction appends to one page.

A primary key cannot be changed in place on SQLite, so the table is rebuilt the
same way on both engines: rows copied aside, the table made again, rows copied
back in the order they were erased.
"""

import sqlalchemy as sa
from alembic import op

from casefeedback.storage.schema.base import ID, UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_COLUMNS = "data_key_id, submission_id, field_class, reason, erased_at"


def _values() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column("submission_id", sa.String(ID), nullable=False),
            sa.Column("field_class", sa.String(64), nullable=False),
            sa.Column("reason", sa.String(32), nullable=False),
            sa.Column("erased_at", UTCDateTime(), nullable=False)]


def _aside() -> None:
    op.create_table("erased_keys_aside", sa.Column("data_key_id", sa.String(ID), nullable=False), *_values())
    op.execute(f"INSERT INTO erased_keys_aside ({_COLUMNS}) SELECT {_COLUMNS} FROM erased_keys")  # noqa: S608
    op.drop_table("erased_keys")


def upgrade() -> None:
    _aside()
    op.create_table("erased_keys", sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("data_key_id", sa.String(ID), nullable=False), *_values())
    op.execute(f"INSERT INTO erased_keys ({_COLUMNS}) SELECT {_COLUMNS} FROM erased_keys_aside "  # noqa: S608
               "ORDER BY erased_at, data_key_id")
    op.drop_table("erased_keys_aside")


def downgrade() -> None:
    _aside()
    op.create_table("erased_keys", sa.Column("data_key_id", sa.String(ID), primary_key=True), *_values())
    # One row per key again (the old primary key); the first erasure noted for it.
    op.execute(f"INSERT INTO erased_keys ({_COLUMNS}) SELECT data_key_id, min(submission_id), "  # noqa: S608
               "min(field_class), min(reason), min(erased_at) FROM erased_keys_aside GROUP BY data_key_id")
    op.drop_table("erased_keys_aside")
