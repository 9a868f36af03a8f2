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
    Index,
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

# An unfinished journey. Its id becomes the submission's id when it is sent, so
# sending the same draft twice collides on the submissions primary key. Consent
# choices are not content (the consent receipt keeps them in the clear too);
# answers live only sealed, in draft_answers.
drafts = Table(
    "drafts",
    metadata,
    _id(),
    Column("service_id", String(64), nullable=False),
    Column("policy_version", String(64), ForeignKey("policy_versions.version"), nullable=False),
    Column("invitation_id", String(ID), ForeignKey("invitations.id"), nullable=True),
    Column("consent_version", Integer, nullable=False),
    Column("consent_language", String(8), nullable=False),
    Column("consent_choices", Text, nullable=False),  # JSON: {"store": true, "contact_me": false, ...}
    Column("consent_given_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # Erased by purge_expired_drafts once passed: the policy's draft_keep after the last change.
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
    # Keyed hash of the resume code, only if the person chose to keep one.
    Column("resume_hash", String(64), nullable=True, unique=True),
)

# One row per question reached: the answer, or a skip (JSON null), sealed under
# a data key of its own that is stored wrapped in the same row, so deleting the
# row erases the answer. question_id is in the clear (as in ``answers``): it
# says which question was reached, never what was said.
draft_answers = Table(
    "draft_answers",
    metadata,
    _id(),
    Column("draft_id", String(ID), ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("question_id", String(64), nullable=False),
    Column("field_class", String(64), nullable=False),
    Column("data_key_id", String(ID), nullable=False),
    Column("kek_id", String(40), nullable=False, index=True),
    Column("wrapped", LargeBinary, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("saved_at", UTCDateTime(), nullable=False),
    UniqueConstraint("draft_id", "question_id", name="one_draft_answer_per_question"),
)


# --- receipts and withdrawal (issue 3) ---

# "Add more" through a receipt code stores a new submission (fresh data keys,
# the same sealing as any answer) linked here to the one the code belongs to.
# The addition has no receipt code of its own: it is reached only through its parent.
submission_additions = Table(
    "submission_additions",
    metadata,
    Column("submission_id", String(ID), ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True),
    Column("parent_id", String(ID), ForeignKey("submissions.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("added_at", UTCDateTime(), nullable=False),
)

# Every change a person makes to an optional consent choice after sending, in
# order. consent_receipts.choices holds the current state; this is its history.
consent_changes = Table(
    "consent_changes",
    metadata,
    _id(),
    Column("submission_id", String(ID), ForeignKey("submissions.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("choice", String(32), nullable=False),
    Column("value", Boolean, nullable=False),
    Column("changed_at", UTCDateTime(), nullable=False),
)

# --- staff: MFA, throttling, break-glass (issue 4) ---

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
    _id(),
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

# When the person last confirmed who they are (password and code) in this
# session: key operations need it to be recent.
staff_sessions.append_column(Column("reauthenticated_at", UTCDateTime(), nullable=True))

break_glass = Table(
    "break_glass",
    metadata,
    _id(),
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
    _id(),
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
    _id(),
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

# --- retention, audit checkpoints, keys, backups (issue 6) ---

# Who this database belongs to: a random id made once, carried in every backup
# manifest and checkpoint, so a backup of another instance is recognised.
instance_identity = Table(
    "instance_identity",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("instance_id", String(ID), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint("id = 1", name="instance_identity_single_row"),
)

# Legal hold suspends retention for every submission of a case. Its own table
# (not a column on cases): a hold has a history — who set it, why, who lifted it.
legal_holds = Table(
    "legal_holds",
    metadata,
    _id(),
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("set_by", String(ID), nullable=True),  # staff id; None when set from the command line
    Column("set_at", UTCDateTime(), nullable=False),
    Column("released_at", UTCDateTime(), nullable=True),
    Column("released_by", String(ID), nullable=True),
    Column("release_reason", Text, nullable=True),
)

# The ledger of destroyed data keys: ids only, never content. A restore
# re-applies it (and its mirror file outside the database), so a backup taken
# before an erasure never brings erased fields back into service.
erased_keys = Table(
    "erased_keys",
    metadata,
    Column("data_key_id", String(ID), primary_key=True),
    Column("submission_id", String(ID), nullable=False, index=True),
    Column("field_class", String(64), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("erased_at", UTCDateTime(), nullable=False),
)

# Each purge that erased for real, with the moment it purged "as of": a later
# purge may not go back before it (see `casefeedback purge --as-of`).
purge_runs = Table(
    "purge_runs",
    metadata,
    _id(),
    Column("as_of", UTCDateTime(), nullable=False, index=True),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("trigger", String(16), nullable=False),
    Column("data_keys", Integer, nullable=False, default=0),
    Column("fields", Integer, nullable=False, default=0),
)

# De-identified contributions to insight, written when retention erases a class
# marked insight = "aggregate" of a person who consented to share_insight.
# One row per answer value: no submission id, no time finer than the month, no
# free text. WITHOUT ROWID with a random key, so rows are stored in random
# order: the rows of one person cannot be regrouped by where they lie.
insight_contributions = Table(
    "insight_contributions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("service_id", String(64), nullable=False, index=True),
    Column("month", String(7), nullable=False),  # YYYY-MM of the submission
    Column("question_id", String(64), nullable=False),
    Column("answer", String(64), nullable=False),  # an option id, or a rating as text
    sqlite_with_rowid=False,
)

# Signed checkpoints of the audit chain (Ed25519 over seq, MAC, time, previous
# checkpoint). Exported copies held elsewhere prove the log was not rewritten.
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("mac", String(64), nullable=False),
    Column("at", String(32), nullable=False),
    Column("previous_seq", Integer, nullable=True),
    Column("previous_mac", String(64), nullable=True),
    Column("key_check", String(32), nullable=False),
    Column("public_key", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
)

# Key-encryption keys taken out of service: their files are destroyed, and a
# backup still needing one is refused with a clear message.
retired_keks = Table(
    "retired_keks",
    metadata,
    Column("kek_id", String(40), primary_key=True),
    Column("retired_at", UTCDateTime(), nullable=False),
)

# The worker's job state: when each job last ran and how it went (never why in
# words a job could fill with content: the error is an exception type). Jobs
# are defined in code; only their timing is stored, so the store holds no
# pickled callables.
worker_jobs = Table(
    "worker_jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("last_started_at", UTCDateTime(), nullable=True),
    Column("last_finished_at", UTCDateTime(), nullable=True),
    Column("last_outcome", String(16), nullable=True),
    Column("last_error", String(120), nullable=True),
    Column("runs", Integer, nullable=False, default=0),
)

# Deleting a data key makes SQLite look for its answers (the foreign key's
# ON DELETE CASCADE); without an index that is a scan of every answer per key,
# which made erasing grow with the square of the store. Additive: the answers
# table itself is unchanged.
answers_by_data_key = Index("ix_answers_data_key_id", answers.c.data_key_id)


# --- alerts (issue 5) ---

# An alert: raised in the same transaction as the submission whose answers met a
# rule, so neither can exist without the other. It holds only what a
# notification may carry (reference, severity, service, deadline) and where it is
# in its escalation chain; never an answer. The resolution outcome is sealed
# like an answer, under a data key of its own kept (wrapped) in the same row.
alerts = Table(
    "alerts",
    metadata,
    _id(),
    Column("reference", String(16), nullable=False, unique=True),  # random, shown in notifications
    Column("service_id", String(64), nullable=False),
    Column("rule_id", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    # No foreign keys: erasing a submission (withdrawal, retention) must not erase
    # the record that someone was told, and when.
    Column("submission_id", String(ID), nullable=False, index=True),
    Column("case_id", String(ID), nullable=True, index=True),
    Column("raised_at", UTCDateTime(), nullable=False),
    Column("chain", Text, nullable=False),  # JSON list of relations, from the rule when raised
    Column("acknowledge_seconds", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("step", Integer, nullable=False),  # index into chain of the last step told; -1: nobody yet
    Column("deadline_at", UTCDateTime(), nullable=True, index=True),  # None: acknowledged or chain ended
    Column("exhausted_at", UTCDateTime(), nullable=True),  # the chain ran out without acknowledgement
    Column("acknowledged_at", UTCDateTime(), nullable=True),
    Column("acknowledged_by", String(ID), nullable=True),
    Column("resolved_at", UTCDateTime(), nullable=True),
    Column("resolved_by", String(ID), nullable=True),
    Column("data_key_id", String(ID), nullable=True),
    Column("kek_id", String(40), nullable=True),
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("ciphertext", LargeBinary, nullable=True),
)

# Who has been told of an alert (and may acknowledge it), at which step.
alert_recipients = Table(
    "alert_recipients",
    metadata,
    Column("alert_id", String(ID), ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True),
    Column("staff_id", String(ID), ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("step", Integer, nullable=False),
    Column("relation", String(32), nullable=False),
    Column("told_at", UTCDateTime(), nullable=False),
)

# The outbox: one row per (alert, recipient, channel), unique, so a notification
# is queued once however often the code that queues it runs. The worker claims a
# row (status "sending") before it sends and marks it "sent" after: a crash in
# between is retried once the claim's lease runs out (the duplicate bound in SECURITY.md).
alert_notifications = Table(
    "alert_notifications",
    metadata,
    _id(),
    Column("alert_id", String(ID), ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("recipient", String(64), nullable=False),  # a staff id, or "webhook:<step>"
    Column("channel", String(16), nullable=False),  # "email" or "webhook"
    Column("status", String(16), nullable=False),  # pending, sending, sent, dead, cancelled
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False, index=True),
    Column("claimed_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("last_error", String(120), nullable=True),  # an error kind, never a server's words
    UniqueConstraint("alert_id", "recipient", "channel", name="uq_alert_notification_once"),
)

# Every delivery attempt, for the record and the dead-letter list.
alert_attempts = Table(
    "alert_attempts",
    metadata,
    _id(),
    Column("notification_id", String(ID), ForeignKey("alert_notifications.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),  # sent, failed
    Column("error", String(120), nullable=True),
)

# The duty rota for anonymous feedback (and the duty_manager relation), set by a
# supervisor or duty manager: tried in position order.
duty_rota = Table(
    "duty_rota",
    metadata,
    Column("service_id", String(64), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("staff_id", String(ID), ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
)

# Staff marked absent (leave, sickness): skipped when routing, like a disabled account.
staff_absences = Table(
    "staff_absences",
    metadata,
    Column("staff_id", String(ID), ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
    Column("since", UTCDateTime(), nullable=False),
    Column("set_by", String(ID), nullable=True),
)

# --- insight (issue 7) ---

# Counts of de-identified contributions, kept up to date in the same transaction
# that writes them (retention/insight.py), so the insight page reads a few
# thousand rows, never the millions of contributions. One row per (service,
# team, month, question, answer): a count, no person, no time finer than the
# month. team_id is "" when the submission had no case (or a row written before
# teams were counted): a primary key column cannot be NULL everywhere.
insight_counts = Table(
    "insight_counts",
    metadata,
    Column("service_id", String(64), primary_key=True),
    Column("team_id", String(ID), primary_key=True),
    Column("month", String(7), primary_key=True),  # YYYY-MM of the submission
    Column("question_id", String(64), primary_key=True),
    Column("answer", String(64), primary_key=True),
    Column("n", Integer, nullable=False),
    CheckConstraint("n >= 0", name="insight_count_not_negative"),
)

# Submissions and consent choices per (service, month, team), for months already
# over: the insight page reads these instead of counting every submission again
# (200 000 submissions took seconds). Counts only; refreshed daily by the page
# (insight/monthly.py), so a later withdrawal or consent change shows within a day.
insight_submission_counts = Table(
    "insight_submission_counts",
    metadata,
    Column("service_id", String(64), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("team_id", String(ID), primary_key=True),  # "" for feedback without a case
    Column("received", Integer, nullable=False),
    Column("shared", Integer, nullable=False),  # consent included share_insight
    Column("asked", Integer, nullable=False),  # had a consent receipt
)

# Which (service, month) the counts above cover, and when they were counted.
insight_submission_months = Table(
    "insight_submission_months",
    metadata,
    Column("service_id", String(64), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("refreshed_at", UTCDateTime(), nullable=False),
)

# The current month is counted live: by service and time, not every submission of the service.
submissions_by_service_time = Index("ix_submissions_service_submitted", submissions.c.service_id,
                                    submissions.c.submitted_at)

# --- insight at intake: submissions whose de-identified contributions are already written ---
# Contributions are written when a consenting person sends (so insight is current) and
# at most once per submission: retention skips a submission listed here.
insight_contributed = Table(
    "insight_contributed",
    metadata,
    Column("submission_id", String(ID), ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True),
)
