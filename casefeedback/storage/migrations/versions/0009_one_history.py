"""Join the domain branches (0002-0008) into one history: from here on, one head.

Revision ID: 0009
Revises: 0002, 0003, 0004, 0005, 0006, 0007, 0008

Nothing changes in the database. Parallel branches leave the order in which
they run to Alembic, so two of them touching the same table could run in a
different order on different databases and leave different schemas; after this
point every migration has exactly one parent, every database takes the same
path, and "is this database at the schema this code needs?" compares one id.
"""

revision = "0009"
down_revision = ("0002", "0003", "0004", "0005", "0006", "0007", "0008")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
