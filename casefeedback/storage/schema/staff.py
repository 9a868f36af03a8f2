"""Staff: second factor, sign-in throttling, break-glass, notifications, case outcomes, reads."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, String, Table, Text

from casefeedback.storage.schema.base import ID, UTCDateTime, id_column, metadata

# A staff member's second factor (TOTP, RFC 6238). The secret has to be readable
# to check a code, so it is protected by the database encryption only; without
# the password (kept only as an argon2id hash) it opens nothing.
staff_mfa = Table(
    "staff_mfa",
    metadata,
    Column("staff_id", String(ID), ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
    Column("totp_secret", String(64), nullable=False),
    Column("enrolled_at", UTCDateTime(), nullable=True),  # None: enrolment started, not yet confirmed
    # The newest 30-second step a code was accepted for: each code works once (no replay).
    Column("last_used_step", Integer, nullable=False, default=0),
)

# Recovery codes are shown once; only their SHA-256 is kept (each has 80 random
# bits, so there is nothing to brute-force and no need for a slow hash).
staff_recovery_codes = Table(
    "staff_recovery_codes",
    metadata,
    id_column(),
    Column("staff_id", String(ID), ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
)

# A sign-in half done: the password was right, the second factor is still to
# come. The browser holds a random token; only its hash is stored.
sign_in_challenges = Table(
    "sign_in_challenges",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("staff_id", String(ID), ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Failed sign-ins per username as typed (known or not, so a lockout says nothing
# about whether an account exists). In the database, so every worker sees it.
sign_in_throttle = Table(
    "sign_in_throttle",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UTCDateTime(), nullable=False),
    Column("locked_until", UTCDateTime(), nullable=True),
)

break_glass = Table(
    "break_glass",
    metadata,
    id_column(),
    Column("staff_id", String(ID), ForeignKey("staff.id"), nullable=False, index=True),
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=False, index=True),
    # Why: written by the person, for the auditor. Not feedback content.
    Column("reason", Text, nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=True),
)

# In-app notices to staff (e.g. "Sam used break-glass on a case of your team").
# Names, times and ids only, never content.
staff_notifications = Table(
    "staff_notifications",
    metadata,
    id_column(),
    Column("recipient_id", String(ID), ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=True),
    Column("subject_id", String(ID), nullable=True),
    Column("message", String(500), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("read_at", UTCDateTime(), nullable=True),
)

# A caseworker's outcome note on a case: sealed like an answer, under a data key
# of its own stored (wrapped) in the same row, so deleting the row erases it.
case_outcomes = Table(
    "case_outcomes",
    metadata,
    id_column(),
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=False, index=True),
    Column("recorded_by", String(ID), ForeignKey("staff.id"), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    # Fixed when the form is shown: the same form posted twice records once.
    Column("form_nonce", String(64), nullable=False, unique=True),
    Column("data_key_id", String(ID), nullable=False),
    Column("kek_id", String(40), nullable=False),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
)

# Who has seen which feedback, for the "new feedback" counts in the workspace.
submission_reads = Table(
    "submission_reads",
    metadata,
    Column("staff_id", String(ID), ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
    Column("submission_id", String(ID), ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True,
           index=True),
    Column("first_read_at", UTCDateTime(), nullable=False),
)
