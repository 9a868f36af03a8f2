"""What every deployment has from its first migration: policies, staff, cases, submissions,
field encryption and the audit log."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Sequence,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from casefeedback.storage.dialect import AUDIT_SEQUENCE
from casefeedback.storage.schema.base import ID, UTCDateTime, id_column, metadata

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
    id_column(),
    Column("name", String(120), nullable=False, unique=True),
)

staff = Table(
    "staff",
    metadata,
    id_column(),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(120), nullable=False),
    Column("email", String(254), nullable=True),
    # For alert text messages (E.164, +447…); personal data like the email, never logged in full (0019).
    Column("mobile", String(16), nullable=True),
    Column("role", String(32), nullable=False),
    Column("team_id", String(ID), ForeignKey("teams.id"), nullable=True),
    Column("password_hash", String(255), nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("password_changed_at", UTCDateTime(), nullable=False),
    CheckConstraint(
        "role IN ('caseworker','supervisor','duty_manager','auditor','analyst','administrator',"
        "'records_officer')",
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
    # When the person last confirmed who they are (password and code) in this
    # session: key operations need it to be recent.
    Column("reauthenticated_at", UTCDateTime(), nullable=True),
)

cases = Table(
    "cases",
    metadata,
    id_column(),
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
    id_column(),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=False, index=True),
    Column("uses_left", Integer, nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("created_by", String(ID), ForeignKey("staff.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    # The keyed hash of the short code printed on the handout (never the code); NULL
    # for invitations made before short codes existed. A unique index, so one typed
    # code can never open two invitations.
    Column("short_code_hash", String(64), nullable=True, unique=True, index=True),
)

submissions = Table(
    "submissions",
    metadata,
    id_column(),
    # Looked up by service through ix_submissions_service_submitted (no index of its own: migration 0020).
    Column("service_id", String(64), nullable=False),
    Column("policy_version", String(64), ForeignKey("policy_versions.version"), nullable=False),
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=True),
    Column("language", String(8), nullable=False),
    Column("submitted_at", UTCDateTime(), nullable=False),
    Column("receipt_hash", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False, default="active"),
    CheckConstraint("status IN ('active','withdrawn')", name="submission_status_known"),
    # Only feedback tied to a case: nothing looks up "no case" here, and general feedback then writes no page
    # of this index at its send (migration 0023). Both engines' planners use it for case_id = ? and IN (...).
    Index("ix_submissions_case_id", "case_id", sqlite_where=text("case_id IS NOT NULL"),
          postgresql_where=text("case_id IS NOT NULL")),
)

# The current month is counted live by the insight page: by service and time,
# not every submission of the service.
submissions_by_service_time = Index("ix_submissions_service_submitted", submissions.c.service_id,
                                    submissions.c.submitted_at)

consent_receipts = Table(
    "consent_receipts",
    metadata,
    id_column(),
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
    id_column(),
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
    id_column(),
    # Found by submission through the unique (submission_id, question_id) below (migration 0020).
    Column("submission_id", String(ID), ForeignKey("submissions.id", ondelete="CASCADE"), nullable=False),
    Column("question_id", String(64), nullable=False),
    Column("field_class", String(64), nullable=False),
    # No foreign key to data_keys, on purpose: retention destroys the key first (crypto-shredding, in a
    # transaction of milliseconds) and removes the ciphertext afterwards, in small transactions of its own
    # (retention/ciphertext.py). Every reader joins answers to data_keys, so an answer whose key is gone
    # is unreadable, and invisible, from the moment its key is.
    Column("data_key_id", String(ID), nullable=False),
    Column("position", Integer, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    UniqueConstraint("submission_id", "question_id", name="one_answer_per_question"),
)

# The ciphertext sweep and a restore's ledger re-apply find answers by their
# destroyed data key; without an index each key would be a scan of every answer.
answers_by_data_key = Index("ix_answers_data_key_id", answers.c.data_key_id)

audit_events = Table(
    "audit_events",
    metadata,
    # The event's number in the whole log: the order auditors read it in.
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
    # The chain the event was appended to and its position there (audit/walk.py).
    # Chain 0 is the log from before chains (migration 0014), where chain_seq = seq.
    Column("chain", Integer, nullable=False),
    Column("chain_seq", Integer, nullable=False),
    UniqueConstraint("chain", "chain_seq", name="one_event_per_chain_position"),
)

# PostgreSQL only (SQLite has none, and numbers events under its one write lock): where event numbers
# come from, so writers holding different chains never count on max(seq) and never give a number twice.
audit_event_numbers = Sequence(AUDIT_SEQUENCE, metadata=metadata)

# One row per chain: its newest link (position 0 and the chain's genesis while
# empty). Each writer moves only the head of the chain it appends to, so writers
# do not serialise on one row; the rows are made up front (migration 0014), so a
# PostgreSQL writer can take a free one with SKIP LOCKED and the set stays bounded.
audit_chains = Table(
    "audit_chains",
    metadata,
    Column("chain", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("mac", String(64), nullable=False),
)

