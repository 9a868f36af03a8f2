"""Receipts and withdrawal: additions to sent feedback and the history of consent changes."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, String, Table

from casefeedback.storage.schema.base import ID, UTCDateTime, id_column, metadata

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
    id_column(),
    Column("submission_id", String(ID), ForeignKey("submissions.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("choice", String(32), nullable=False),
    Column("value", Boolean, nullable=False),
    Column("changed_at", UTCDateTime(), nullable=False),
)
