"""Staff get a mobile number for alert text messages (SMS through GOV.UK Notify): nullable, NULL for everyone.

Revision ID: 0019
Revises: 0018

A staff member's mobile is their personal data, like their email address, and
the route urgent alerts take: kept in the (encrypted) database beside the email,
never in the audit log or a log line in full. Service users' numbers are not
stored at all (an invitation by text is sent to a number typed once).
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("staff", sa.Column("mobile", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("mobile")
