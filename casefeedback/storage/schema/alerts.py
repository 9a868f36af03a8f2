"""Alerts: who was told, the outbox, delivery attempts, the dated duty rota and absences."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, LargeBinary, String, Table, Text, UniqueConstraint

from casefeedback.storage.schema.base import ID, UTCDateTime, id_column, metadata

# An alert: raised in the same transaction as the submission whose answers met a
# rule, so neither can exist without the other. It holds only what a
# notification may carry (reference, severity, service, deadline) and where it is
# in its escalation chain; never an answer. The resolution outcome is sealed
# like an answer, under a data key of its own kept (wrapped) in the same row.
alerts = Table(
    "alerts",
    metadata,
    id_column(),
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
    # When acknowledgement was first due (raised_at + the rule's acknowledge_within). Unlike
    # deadline_at it does not move on with escalation: past it, unacknowledged, the alert is
    # overdue, shown on every page to the people who answer for cover and repeated to them.
    Column("due_at", UTCDateTime(), nullable=True),
    Column("reminded_round", Integer, nullable=True),  # the last reminder round sent; None: none yet
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
    id_column(),
    Column("alert_id", String(ID), ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("recipient", String(64), nullable=False),  # a staff id, or "webhook:<step>"
    Column("channel", String(16), nullable=False),  # "email", "sms" or "webhook"
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
    id_column(),
    Column("notification_id", String(ID), ForeignKey("alert_notifications.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),  # sent, failed
    Column("error", String(120), nullable=True),
)

# One index answers "which alerts are overdue now" on every staff page: the
# unacknowledged ones (few) by the time their acknowledgement was due.
alerts_overdue = Index("ix_alerts_overdue", alerts.c.acknowledged_at, alerts.c.due_at)

# The duty rota, dated: who is on duty for a service from when to when (UTC;
# ends_at None: until removed). Alerts from anonymous feedback go to everyone on
# duty at the moment they are raised, and the duty_manager relation to the duty
# managers on duty (all duty managers when none is). Set by a supervisor or duty
# manager on the rota screen; shifts declared in organisation.toml are read from
# the policy, never copied here.
duty_shifts = Table(
    "duty_shifts",
    metadata,
    id_column(),
    Column("service_id", String(64), nullable=False),
    Column("staff_id", String(ID), ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=True),
    Column("set_by", String(ID), nullable=True),  # None: carried over from the undated rota
    Column("created_at", UTCDateTime(), nullable=False),
)
duty_shifts_by_service = Index("ix_duty_shifts_service_starts", duty_shifts.c.service_id, duty_shifts.c.starts_at)

# Staff away (leave, sickness) from when to when (ends_at None: until ended):
# skipped when routing while it lasts, like a disabled account.
staff_absences = Table(
    "staff_absences",
    metadata,
    id_column(),
    Column("staff_id", String(ID), ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=True),
    Column("set_by", String(ID), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)
