"""Intake: drafts and resume codes."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, String, Table, Text, UniqueConstraint

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
    Column("resume_hash", String(64), nullable=True, unique=True),
)

# One row per question reached: the answer, or a skip (JSON null), sealed under
# a data key of its own that is stored wrapped in the same row, so deleting the
# row erases the answer. question_id is in the clear (as in ``answers``): it
# says which question was reached, never what was said.
draft_answers = Table(
    "draft_answers",
    metadata,
    id_column(),
    # Found by draft through the unique (draft_id, question_id) below (migration 0020).
    Column("draft_id", String(ID), ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False),
    Column("question_id", String(64), nullable=False),
    Column("field_class", String(64), nullable=False),
    Column("data_key_id", String(ID), nullable=False),
    Column("kek_id", String(40), nullable=False, index=True),
    Column("wrapped", LargeBinary, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("saved_at", UTCDateTime(), nullable=False),
    UniqueConstraint("draft_id", "question_id", name="one_draft_answer_per_question"),
    # Stored in key order, and the key begins with the draft's id (storage.ids.grouped_id): a draft's answers
    # share a page or two, so erasing a sent draft inside the send's write transaction changes those, not a
    # page for every answer among everyone else's (migration 0022).
    sqlite_with_rowid=False,
)
