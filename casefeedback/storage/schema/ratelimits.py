"""Rate limits: Flask-Limiter's counters, kept where every worker sees them (storage/ratelimits.py)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Integer, String, Table

from casefeedback.storage.schema.base import UTCDateTime, metadata

# One row per (client address, limit) with a window running: how many hits it
# has had and when it ends. The limiter's key names the client's address, so
# the row holds only a keyed hash of it (HMAC under the lookup key): a copy of
# the table says how many limits are running, not who is behind them. Rows are
# deleted once their window is over (by the next hit from anyone, and by the
# worker), so the table holds at most a day of them.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("hits", Integer, nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
    CheckConstraint("hits >= 0", name="rate_limit_hits_not_negative"),
)
