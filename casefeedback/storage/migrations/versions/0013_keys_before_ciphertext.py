"""Answers no longer go with their data key's row: retention destroys the key first, the ciphertext after.

Revision ID: 0013
Revises: 0012

The foreign key from answers.data_key_id to data_keys (ON DELETE CASCADE) made
deleting a key delete its answers in the same transaction, so the retention
purge held the instance's one write lock for the ciphertext too. Without it the
purge destroys keys in transactions of milliseconds and removes the ciphertext,
unreadable from then on, in small transactions afterwards. No row changes here.

SQLite cannot drop a constraint in place, so the table is copied (batch mode);
the foreign key was declared without a name, so the naming convention gives the
reflected one a name to drop it by. PostgreSQL drops it in place, by the name it gave it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
KEY_FOREIGN_KEY = "fk_answers_data_key_id_data_keys"


def _key_foreign_key() -> str:
    """The constraint's name: on SQLite the naming convention's; PostgreSQL named it itself (answers_…_fkey)."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return KEY_FOREIGN_KEY
    return next(str(found["name"]) for found in sa.inspect(bind).get_foreign_keys("answers")
                if found["referred_table"] == "data_keys")


def upgrade() -> None:
    name = _key_foreign_key()
    with op.batch_alter_table("answers", naming_convention=NAMING) as batch:
        batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    # The cascade would never have let these exist: ciphertext whose key is already destroyed,
    # waiting for the sweep. It goes now, or the copy below would fail the constraint.
    data_keys = sa.table("data_keys", sa.column("id", sa.String))
    answers = sa.table("answers", sa.column("data_key_id", sa.String))
    op.execute(answers.delete().where(~sa.exists().where(data_keys.c.id == answers.c.data_key_id)))
    with op.batch_alter_table("answers", naming_convention=NAMING) as batch:
        batch.create_foreign_key(KEY_FOREIGN_KEY, "data_keys", ["data_key_id"], ["id"], ondelete="CASCADE")
