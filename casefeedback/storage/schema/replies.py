"""Closing the loop with the person: caseworkers' sealed replies to feedback, and "You said, we did"."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, LargeBinary, String, Table, Text

from casefeedback.storage.schema.base import ID, UTCDateTime, id_column, metadata

# A caseworker's reply to one submission, for the person who gave it. Sealed like an answer: under the
# submission's data key for the reply class (in ``data_keys``, so retention and withdrawal destroy it
# like any class), with AAD binding the ciphertext to this row. As for answers there is no foreign key
# to data_keys: the purge destroys the key first and the ciphertext row follows (retention/ciphertext.py).
# ``language`` is the language the reply was written in (for the page's lang attribute), not content.
feedback_replies = Table(
    "feedback_replies",
    metadata,
    id_column(),
    Column("submission_id", String(ID), ForeignKey("submissions.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("field_class", String(64), nullable=False),
    Column("data_key_id", String(ID), nullable=False),
    Column("language", String(8), nullable=False),
    Column("written_by", String(ID), ForeignKey("staff.id"), nullable=False),
    Column("written_at", UTCDateTime(), nullable=False),
    # Fixed when the form is shown: the same form posted twice stores one reply.
    Column("form_nonce", String(64), nullable=False, unique=True),
    Column("ciphertext", LargeBinary, nullable=False),
)

# The ciphertext sweep finds replies by their destroyed data key, as it does answers.
feedback_replies_by_data_key = Index("ix_feedback_replies_data_key_id", feedback_replies.c.data_key_id)

# "You said, we did": what a service changed in a period because of what people said. Public text, not
# sealed: it is written to be published. ``said`` and ``did`` are JSON {language: text}, one per language
# the service offers. ``period`` is "2026-11" (a month) or "2026-Q4" (a quarter); ``period_starts`` orders them.
published_changes = Table(
    "published_changes",
    metadata,
    id_column(),
    Column("service_id", String(64), nullable=False),
    Column("period", String(8), nullable=False),
    Column("period_starts", UTCDateTime(), nullable=False),
    Column("said", Text, nullable=False),
    Column("did", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_by", String(ID), ForeignKey("staff.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("published_at", UTCDateTime(), nullable=True),
    Column("form_nonce", String(64), nullable=False, unique=True),
    CheckConstraint("status IN ('draft','published','unpublished')", name="published_change_status_known"),
)

# The public pages ask for one service's published changes, newest period first.
published_changes_by_service = Index("ix_published_changes_service_status", published_changes.c.service_id,
                                     published_changes.c.status, published_changes.c.period_starts)
