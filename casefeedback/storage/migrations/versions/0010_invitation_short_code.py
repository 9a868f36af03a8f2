"""Invitations get a short code to type from paper: the keyed hash of it, unique, NULL for older invitations.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable and without a default: invitations made before this have no short
    # code, and their link and QR code keep working exactly as before.
    op.add_column("invitations", sa.Column("short_code_hash", sa.String(64), nullable=True))
    op.create_index("ix_invitations_short_code_hash", "invitations", ["short_code_hash"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_invitations_short_code_hash", table_name="invitations")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("short_code_hash")
