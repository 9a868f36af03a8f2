"""Channels, failure demand and the voice of staff (issue 15): how feedback came in, and what got in the way."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text

from casefeedback.storage.schema.base import ID, UTCDateTime, id_column, metadata

# How a submission came in, for every submission that did not come through the
# person's own web form (no row: the web form, consent ticked online). Not content:
# the channel, how consent was given, the exact consent text read out or shown (the
# policy's words, never the person's), and who recorded it.
submission_channels = Table(
    "submission_channels",
    metadata,
    Column("submission_id", String(ID), ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True),
    Column("channel", String(32), nullable=False, index=True),
    Column("consent_method", String(16), nullable=False),
    Column("consent_text", Text, nullable=False),
    # The member of staff who took it on the person's behalf; NULL when nobody did.
    Column("recorded_by", String(ID), ForeignKey("staff.id"), nullable=True),
    # The API client it came through. No foreign key: api_clients arrives in a later migration.
    Column("api_client_id", String(ID), nullable=True),
    CheckConstraint("consent_method IN ('online','verbal','written','channel')", name="consent_method_known"),
)

# A contact staff marked as failure demand: demand caused by our failing to do
# something, or do it right, the first time. De-identified when stored: the
# service, the category, the channel and the day, never the case or the person.
failure_demand = Table(
    "failure_demand",
    metadata,
    id_column(),
    Column("service_id", String(64), nullable=False),
    Column("category", String(64), nullable=False),
    Column("channel", String(32), nullable=True),
    Column("occurred_at", UTCDateTime(), nullable=False),  # midnight UTC of the day: a day, never a moment
)
failure_demand_by_service_time = Index("ix_failure_demand_service_occurred", failure_demand.c.service_id,
                                       failure_demand.c.occurred_at)

# The voice of staff: what got in the way of serving someone, from categories the
# policy declares. No words typed, no case, no staff member: only the category,
# how much it got in the way, the channel and the day.
staff_voice = Table(
    "staff_voice",
    metadata,
    id_column(),
    Column("service_id", String(64), nullable=False),
    Column("category", String(64), nullable=False),
    Column("impact", String(32), nullable=False),
    Column("channel", String(32), nullable=True),
    Column("occurred_at", UTCDateTime(), nullable=False),  # midnight UTC of the day
)
staff_voice_by_service_time = Index("ix_staff_voice_service_occurred", staff_voice.c.service_id,
                                    staff_voice.c.occurred_at)
