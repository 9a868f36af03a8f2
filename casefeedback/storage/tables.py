"""The schema, as SQLAlchemy Core tables. Migrations (``migrations/``) create it.

Columns named ``*_hash`` hold keyed hashes of bearer secrets (receipt codes,
invitation tokens, session tokens), never the secrets themselves. Columns named
``ciphertext``/``wrapped`` hold AES-GCM output; no sensitive plaintext has a column.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the backend stores."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: casefeedback stores only aware UTC times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)

ID = 36  # text ids: uuid4 hex with dashes; random, so not guessable in sequence


def _id() -> Column[str]:
    return Column("id", String(ID), primary_key=True)


policy_versions = Table(
    "policy_versions",
    metadata,
    Column("version", String(64), primary_key=True),
    Column("service_id", String(64), nullable=False),
    Column("source", String(255), nullable=False),
    Column("document", Text, nullable=False),
    Column("first_loaded_at", UTCDateTime(), nullable=False),
)

teams = Table(
    "teams",
    metadata,
    _id(),
    Column("name", String(120), nullable=False, unique=True),
)

staff = Table(
    "staff",
    metadata,
    _id(),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(120), nullable=False),
    Column("email", String(254), nullable=True),
    Column("role", String(32), nullable=False),
    Column("team_id", String(ID), ForeignKey("teams.id"), nullable=True),
    Column("password_hash", String(255), nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("password_changed_at", UTCDateTime(), nullable=False),
    CheckConstraint(
        "role IN ('caseworker','supervisor','duty_manager','auditor','analyst','administrator')",
        name="staff_role_known",
    ),
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("staff_id", String(ID), ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
)

cases = Table(
    "cases",
    metadata,
    _id(),
    Column("service_id", String(64), nullable=False),
    # A reference the caseworker chooses (e.g. a crime number): not sensitive
    # content, but still never shown to anyone without a relation to the case.
    Column("reference", String(64), nullable=False),
    Column("team_id", String(ID), ForeignKey("teams.id"), nullable=False),
    Column("owner_id", String(ID), ForeignKey("staff.id"), nullable=False, index=True),
    Column("deputy_id", String(ID), ForeignKey("staff.id"), nullable=True),
    Column("status", String(16), nullable=False, default="open"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime(), nullable=True),
    CheckConstraint("status IN ('open','closed')", name="case_status_known"),
)

invitations = Table(
    "invitations",
    metadata,
    _id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=False, index=True),
    Column("uses_left", Integer, nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("created_by", String(ID), ForeignKey("staff.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
)

submissions = Table(
    "submissions",
    metadata,
    _id(),
    Column("service_id", String(64), nullable=False, index=True),
    Column("policy_version", String(64), ForeignKey("policy_versions.version"), nullable=False),
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=True, index=True),
    Column("language", String(8), nullable=False),
    Column("submitted_at", UTCDateTime(), nullable=False),
    Column("receipt_hash", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False, default="active"),
    CheckConstraint("status IN ('active','withdrawn')", name="submission_status_known"),
)

consent_receipts = Table(
    "consent_receipts",
    metadata,
    _id(),
    Column("submission_id", String(ID), ForeignKey("submissions.id", ondelete="CASCADE"),
           nullable=False, unique=True),
    Column("consent_version", Integer, nullable=False),
    Column("language", String(8), nullable=False),
    Column("choices", Text, nullable=False),  # JSON: {"store": true, "contact_me": false, ...}
    Column("given_at", UTCDateTime(), nullable=False),
    Column("withdrawn_at", UTCDateTime(), nullable=True),
)

data_keys = Table(
    "data_keys",
    metadata,
    _id(),
    Column("submission_id", String(ID), ForeignKey("submissions.id", ondelete="CASCADE"), nullable=False),
    Column("field_class", String(64), nullable=False),
    Column("kek_id", String(40), nullable=False, index=True),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("submission_id", "field_class", name="one_data_key_per_class"),
)

answers = Table(
    "answers",
    metadata,
    _id(),
    Column("submission_id", String(ID), ForeignKey("submissions.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("question_id", String(64), nullable=False),
    Column("field_class", String(64), nullable=False),
    Column("data_key_id", String(ID), ForeignKey("data_keys.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    UniqueConstraint("submission_id", "question_id", name="one_answer_per_question"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),  # ISO-8601 UTC text: exactly what the MAC covers
    Column("actor_id", String(ID), nullable=True),
    Column("actor_role", String(32), nullable=True),
    Column("action", String(64), nullable=False),
    Column("object_type", String(32), nullable=True),
    Column("object_id", String(ID), nullable=True),
    Column("field_class", String(64), nullable=True),
    Column("purpose", String(32), nullable=True),
    Column("outcome", String(32), nullable=False),
    Column("detail", Text, nullable=False, default="{}"),
    Column("mac", String(64), nullable=False),
)

# One row: the newest link of the chain. Updating it serialises appends (a row
# lock on PostgreSQL, the write lock on SQLite), so the chain never forks.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("mac", String(64), nullable=False),
    CheckConstraint("id = 1", name="audit_head_single_row"),
)


# Each domain adds its tables below its own heading (and its migration branches
# from 0001 unless it alters another domain's table).

# --- intake: drafts and resume codes (issue 3) ---

# --- receipts and withdrawal (issue 3) ---

# --- staff: MFA, throttling, break-glass (issue 4) ---

# --- retention, audit checkpoints, keys, backups (issue 6) ---
