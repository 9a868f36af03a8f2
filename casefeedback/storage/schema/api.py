"""API clients: the systems an administrator lets call the JSON API (casefeedback/api/), each with its scopes."""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from casefeedback.storage.schema.base import ID, UTCDateTime, id_column, metadata

# One row per registered client. The bearer token exists in plaintext only in the
# one response (or command output) that creates it: the row keeps its SHA-256
# hash and a short prefix for recognising it in a list or a leaked-secret scan.
# ``scopes`` is a space-separated list from policy/api_scopes.py. Revoking sets
# ``revoked_at``; rows are kept so the audit log's actor ids keep their names.
api_clients = Table(
    "api_clients",
    metadata,
    id_column(),
    Column("name", String(80), nullable=False, unique=True),
    Column("scopes", Text, nullable=False),
    Column("token_prefix", String(16), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(ID), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
)
