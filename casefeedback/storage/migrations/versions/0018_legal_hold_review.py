"""Legal hold on a screen (issue 16): a records officer role, review dates, sealed reasons, reviews kept.

Revision ID: 0018
Revises: 0017

- ``staff.role`` admits ``records_officer``. SQLite cannot alter a CHECK in
  place, and copying ``staff`` (batch mode) would drop it first — with foreign
  keys on (they are, on every connection), dropping ``staff`` cascades into
  sessions, second factors and recovery codes. Widening a CHECK changes no row,
  so the table's declaration is rewritten in ``sqlite_master`` instead: the
  procedure SQLite documents for removing a CHECK ("Making Other Kinds Of Table
  Schema Changes", https://sqlite.org/lang_altertable.html#otheralter). On
  PostgreSQL the constraint is dropped and made again.
- ``legal_holds`` gains a review date, the hold's own wrapped data key, and its
  reason and release reason become sealed bytes. Existing reasons were written
  in plain text by ``casefeedback legal-hold set``; this migration has no keys to
  seal them with, and they are in the audit log already (``legal_hold.set``
  carried them), so the copy here is removed and the screen shows a placeholder
  saying where to find it. Their review date is six months from now, the
  policy's default (``[legal_hold] review_within``).
- ``legal_hold_reviews``: every review, kept.

Downgrading loses the sealed reasons and notes (the old schema kept them in
plain text, and nothing here may open them), and refuses while any records
officer account exists (the old CHECK would not admit it).
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from casefeedback.policy.model import Duration
from casefeedback.storage.tables import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

ID = 36
OLD_ROLES = "role IN ('caseworker','supervisor','duty_manager','auditor','analyst','administrator')"
NEW_ROLES = ("role IN ('caseworker','supervisor','duty_manager','auditor','analyst','administrator',"
             "'records_officer')")
REVIEW_WITHIN = Duration(months=6, text="P6M")  # the policy's default, frozen here as it was when written
OLD_REASON = "(set before reasons were sealed: this version does not keep the reason)"


def upgrade() -> None:
    _staff_roles(OLD_ROLES, NEW_ROLES)
    with op.batch_alter_table("legal_holds") as batch:
        batch.add_column(sa.Column("review_by", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("data_key_id", sa.String(ID), nullable=True))
        batch.add_column(sa.Column("kek_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("wrapped_key", sa.LargeBinary, nullable=True))
        batch.alter_column("reason", existing_type=sa.Text, nullable=True)
    holds = sa.table("legal_holds", sa.column("reason", sa.Text), sa.column("release_reason", sa.Text),
                     sa.column("review_by", UTCDateTime()))
    # The plain-text reasons go (they are in the audit log); secure_delete overwrites them on disk.
    op.execute(holds.update().values(reason=None, release_reason=None,
                                     review_by=REVIEW_WITHIN.after(datetime.now(UTC))))
    with op.batch_alter_table("legal_holds") as batch:
        batch.alter_column("review_by", existing_type=UTCDateTime(), nullable=False)
        batch.alter_column("reason", existing_type=sa.Text, type_=sa.LargeBinary, existing_nullable=True,
                           postgresql_using="NULL::bytea")
        batch.alter_column("release_reason", existing_type=sa.Text, type_=sa.LargeBinary, existing_nullable=True,
                           postgresql_using="NULL::bytea")
    op.create_table(
        "legal_hold_reviews",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("hold_id", sa.String(ID), sa.ForeignKey("legal_holds.id"), nullable=False),
        sa.Column("reviewed_by", sa.String(ID), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(), nullable=False),
        sa.Column("review_by_before", UTCDateTime(), nullable=False),
        sa.Column("review_by", UTCDateTime(), nullable=False),
        sa.Column("note", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_legal_hold_reviews_hold_id", "legal_hold_reviews", ["hold_id"])


def downgrade() -> None:
    staff = sa.table("staff", sa.column("role", sa.String))
    officers = op.get_bind().execute(sa.select(sa.func.count()).select_from(staff)
                                     .where(staff.c.role == "records_officer")).scalar()
    if officers:
        raise RuntimeError(f"{officers} staff account(s) have the role records_officer, which the schema before "
                           "0018 does not admit: give them another role (or disable and rename them) first")
    op.drop_index("ix_legal_hold_reviews_hold_id", "legal_hold_reviews")
    op.drop_table("legal_hold_reviews")
    with op.batch_alter_table("legal_holds") as batch:
        batch.alter_column("reason", existing_type=sa.LargeBinary, type_=sa.Text, existing_nullable=True,
                           postgresql_using="NULL::text")
        batch.alter_column("release_reason", existing_type=sa.LargeBinary, type_=sa.Text, existing_nullable=True,
                           postgresql_using="NULL::text")
    holds = sa.table("legal_holds", sa.column("reason", sa.Text), sa.column("release_reason", sa.Text),
                     sa.column("released_at", UTCDateTime()))
    op.execute(holds.update().values(reason=OLD_REASON))
    op.execute(holds.update().where(holds.c.released_at.is_not(None)).values(release_reason=OLD_REASON))
    with op.batch_alter_table("legal_holds") as batch:
        batch.alter_column("reason", existing_type=sa.Text, nullable=False)
        batch.drop_column("wrapped_key")
        batch.drop_column("kek_id")
        batch.drop_column("data_key_id")
        batch.drop_column("review_by")
    _staff_roles(NEW_ROLES, OLD_ROLES)


def _staff_roles(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint("staff_role_known", "staff", type_="check")
        op.create_check_constraint("staff_role_known", "staff", new)
        return
    declared = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'staff'").scalar()
    if declared is None or str(declared).count(old) != 1:
        raise RuntimeError("the staff table's role constraint is not the one this migration expects")
    version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar() or 0)
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'staff'",
                             (str(declared).replace(old, new),))
        # A new schema version makes every connection (this one included) read the declaration again.
        bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
