"""Insight: pre-aggregated counts of de-identified contributions, and which submissions contributed."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, Table

from casefeedback.storage.schema.base import ID, UTCDateTime, metadata

# Counts of de-identified contributions, kept up to date in the same transaction
# that writes them (insight/contributions.py), so the insight page reads a few
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

# Contributions are written when a consenting person sends (so insight is current) and
# at most once per submission: retention skips a submission listed here.
insight_contributed = Table(
    "insight_contributed",
    metadata,
    Column("submission_id", String(ID), ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True),
)
