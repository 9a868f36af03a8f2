"""Retention, legal hold, the erasure ledger, audit checkpoints, retired keys and worker jobs."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, LargeBinary, String, Table, Text

from casefeedback.storage.schema.base import ID, UTCDateTime, id_column, metadata

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
# (not a column on cases): a hold has a history — who set it, why, who lifted it —
# and is never deleted. What it says in words (why it was set, why it was lifted)
# is written by legal staff and may name a person, so it is sealed under the
# hold's own data key (``retention/holds.py``), read only after the access
# decision (``policy.decisions.decide_hold``). A hold from before reasons were
# sealed has no key until its first review; its reason is a placeholder.
legal_holds = Table(
    "legal_holds",
    metadata,
    id_column(),
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=False, index=True),
    Column("set_by", String(ID), nullable=True),  # staff id; None when set from the command line
    Column("set_at", UTCDateTime(), nullable=False),
    # The day by which a records officer looks at it again ([legal_hold] review_within at most).
    Column("review_by", UTCDateTime(), nullable=False),
    Column("data_key_id", String(ID), nullable=True),
    Column("kek_id", String(40), nullable=True),
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("reason", LargeBinary, nullable=True),  # sealed; None: set before reasons were sealed
    Column("released_at", UTCDateTime(), nullable=True),
    Column("released_by", String(ID), nullable=True),
    Column("release_reason", LargeBinary, nullable=True),  # sealed
)

# Each review of a hold: the date it moved from and to, and a note (sealed under the hold's key).
legal_hold_reviews = Table(
    "legal_hold_reviews",
    metadata,
    id_column(),
    Column("hold_id", String(ID), ForeignKey("legal_holds.id"), nullable=False, index=True),
    Column("reviewed_by", String(ID), nullable=True),  # staff id; None from the command line
    Column("reviewed_at", UTCDateTime(), nullable=False),
    Column("review_by_before", UTCDateTime(), nullable=False),
    Column("review_by", UTCDateTime(), nullable=False),
    Column("note", LargeBinary, nullable=False),  # sealed
)

# The ledger of destroyed data keys: ids only, never content. A restore
# re-applies it (and its mirror file outside the database), so a backup taken
# before an erasure never brings erased fields back into service.
#
# Rows in the order they were erased, and nothing indexed (migrations 0020,
# 0021): the ledger is only ever read whole. A key's id as the primary key put
# each destroyed key on a random page of that index — one more page for a
# purge's write transaction to change, encrypt and write per key, while senders
# wait (measured: shredding a fifth to a third faster without it). A key is
# noted once by construction: only the transaction whose DELETE removed it
# records it (``retention/erasure.py``), and a restore's re-apply adds only
# what the table lacks (``ledger.apply``).
erased_keys = Table(
    "erased_keys",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("data_key_id", String(ID), nullable=False),
    Column("submission_id", String(ID), nullable=False),
    Column("field_class", String(64), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("erased_at", UTCDateTime(), nullable=False),
)

# Each purge that erased for real, with the moment it purged "as of": a later
# purge may not go back before it (see `casefeedback purge --as-of`).
purge_runs = Table(
    "purge_runs",
    metadata,
    id_column(),
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

# Signed checkpoints of the audit chains (Ed25519 over the newest event number,
# every chain's head, time, previous checkpoint). Exported copies held elsewhere
# prove the log was not rewritten. ``heads`` is NULL for a checkpoint from before
# chains (format 1: ``seq``/``mac`` are then the one chain's head).
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
    Column("heads", Text, nullable=True),
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
