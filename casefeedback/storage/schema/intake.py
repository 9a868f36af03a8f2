"""Intake: drafts and resume codes."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, LargeBinary, PrimaryKeyConstraint, String, Table, Text, text

from casefeedback.storage.schema.base import ID, UTCDateTime, id_column, metadata

# An unfinished journey. Its id becomes the submission's id when it is sent, so
# sending the same draft twice collides on the submissions primary key. Consent
# choices are not content (the consent receipt keeps them in the clear too);
# answers live only sealed, in draft_answers.
drafts = Table(
    "drafts",
    metadata,
    id_column(),
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
    Column("resume_hash", String(64), nullable=True),
    # Stored in the order of its key (WITHOUT ROWID): the table is also its primary key's index, so sending (which
    # erases the draft) and saving an answer (which touches it) change one b-tree for the row, not two (0024).
    sqlite_with_rowid=False,
)

# Unique, and only over drafts that have a resume code: most have none, and erasing or touching those then changes
# no page of this index. Looking a code up (resume_hash = ?) implies NOT NULL, so both engines still use it (0024).
drafts_by_resume_code = Index("ix_drafts_resume_hash", drafts.c.resume_hash, unique=True,
                              sqlite_where=text("resume_hash IS NOT NULL"),
                              postgresql_where=text("resume_hash IS NOT NULL"))

# One row per question reached: the answer, or a skip (JSON null), sealed under
# a data key of its own that is stored wrapped in the same row, so deleting the
# row erases the answer. question_id is in the clear (as in ``answers``): it
# says which question was reached, never what was said.
draft_answers = Table(
    "draft_answers",
    metadata,
    # The row's own id, bound into its ciphertext (it changes whenever the answer is saved again). Not the key:
    # nothing looks a row up by it alone.
    Column("id", String(ID), nullable=False),
    Column("draft_id", String(ID), ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False),
    Column("question_id", String(64), nullable=False),
    Column("field_class", String(64), nullable=False),
    Column("data_key_id", String(ID), nullable=False),
    # No index: only a key rotation looks rows up by it, and drafts are few and short-lived (a scan is cheap).
    Column("kek_id", String(40), nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("saved_at", UTCDateTime(), nullable=False),
    # One answer per question of a draft, and the table is stored in this order (WITHOUT ROWID): the table is
    # its one b-tree. A draft's answers sit together, and every reader and writer asks by draft (and question),
    # so saving an answer or erasing a sent draft inside the send's write transaction changes a page or two of
    # one b-tree, not of three (migrations 0022 and 0024).
    PrimaryKeyConstraint("draft_id", "question_id", name="one_draft_answer_per_question"),
    sqlite_with_rowid=False,
)
