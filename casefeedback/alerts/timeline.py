"""An alert's escalation history as a timeline: raised, who was told and how, what failed, who acted.

"Was the deputy told? Did the email go?" must be answerable from the alert's
own page, without the audit log's search. It is built from the rows the
alerting itself writes (who was told, the outbox, each delivery attempt); only
a step skipped because nobody was available, or the chain running out, is known
from the audit log alone, so those two are read from it. Nothing here is
content: names, relations, channels, times and content-free error kinds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, select

from casefeedback.alerts.listing import AlertView
from casefeedback.alerts.reminding import REMINDER_PREFIX, reminded_staff
from casefeedback.audit.actions import Action
from casefeedback.storage.tables import alert_attempts, alert_notifications, alert_recipients, audit_events, staff

MomentKind = Literal["raised", "told", "notification", "skipped", "exhausted", "acknowledged", "resolved"]
# The outcome of a notification as a tag: its words, and a colour that repeats them.
NotificationStatus = Literal["delivered", "failed", "pending", "dead", "cancelled"]

STATUS_WORDS: dict[str, tuple[str, str]] = {
    "delivered": ("Delivered", "green"),
    "failed": ("Failed", "red"),
    "pending": ("Waiting to send", "blue"),
    "dead": ("Could not be delivered", "red"),
    "cancelled": ("Not needed", "grey"),
}
# Relations as a sentence says them ("Sam Jones (case deputy) was told").
RELATION_WORDS = {
    "case_owner": "case owner",
    "case_deputy": "case deputy",
    "team_member": "in the case's team",
    "team_supervisor": "team supervisor",
    "duty_manager": "duty manager",
    "duty_rota": "on the duty rota",
}
CHANNEL_WORDS = {"email": "Email", "sms": "Text message (SMS)", "webhook": "Message to the duty system (webhook)"}


@dataclass(frozen=True)
class Moment:
    at: datetime
    kind: MomentKind
    text: str
    status: NotificationStatus | None = None

    @property
    def status_words(self) -> str:
        return STATUS_WORDS[self.status][0] if self.status else ""

    @property
    def status_colour(self) -> str:
        return STATUS_WORDS[self.status][1] if self.status else ""


def relation_words(relation: str) -> str:
    return RELATION_WORDS.get(relation, relation.replace("_", " "))


def _as(relation: str) -> str:
    words = relation_words(relation)
    return words if words.startswith(("in ", "on ")) else f"as {words}"


def timeline(connection: Connection, view: AlertView) -> list[Moment]:
    """Everything that happened to the alert, oldest first; at the same moment, in the order of the chain."""
    moments = [(-1, Moment(view.raised_at, "raised", "Raised when the feedback was sent"))]
    steps: dict[str, int] = {}
    first = None
    for row in connection.execute(
            select(alert_recipients, staff.c.display_name).join(staff, staff.c.id == alert_recipients.c.staff_id)
            .where(alert_recipients.c.alert_id == view.id)
            .order_by(alert_recipients.c.step, alert_recipients.c.told_at, staff.c.display_name)).all():
        steps[row.staff_id] = row.step
        first = row.step if first is None else first
        who = f"{row.display_name} ({relation_words(row.relation)})"
        # Whoever is told first was not escalated to, even at a later step (earlier steps had nobody).
        text = f"Escalated to {who}: told on screen, in their alert list" if row.step > first \
            else f"{who} was told on screen, in their alert list"
        moments.append((row.step, Moment(row.told_at, "told", text)))
    moments += _notifications(connection, view, steps)
    moments += _from_audit(connection, view)
    last, gone = len(view.chain) + 1, "someone no longer on the staff list"
    if view.acknowledged_at is not None:
        moments.append((last, Moment(view.acknowledged_at, "acknowledged",
                                     f"Acknowledged by {view.acknowledged_by or gone}")))
    if view.resolved_at is not None:
        moments.append((last, Moment(view.resolved_at, "resolved", f"Resolved by {view.resolved_by or gone}")))
    return [moment for _step, moment in sorted(moments, key=lambda pair: (pair[1].at, pair[0]))]


def _notifications(connection: Connection, view: AlertView, steps: dict[str, int]) -> list[tuple[int, Moment]]:
    rows = connection.execute(select(alert_notifications).where(alert_notifications.c.alert_id == view.id)
                              .order_by(alert_notifications.c.created_at, alert_notifications.c.recipient)).all()
    people = {_person(row.recipient) for row in rows} - {None}
    names = {row.id: row.display_name for row in connection.execute(
        select(staff.c.id, staff.c.display_name).where(staff.c.id.in_(sorted(p for p in people if p))))}
    failures: dict[str, int] = {}
    for attempt in connection.execute(select(alert_attempts.c.notification_id).where(
            alert_attempts.c.notification_id.in_([row.id for row in rows]), alert_attempts.c.outcome == "failed")):
        failures[attempt.notification_id] = failures.get(attempt.notification_id, 0) + 1
    shown = []
    for row in rows:
        person = _person(row.recipient)
        step = int(row.recipient.split(":")[1]) if row.recipient.startswith("webhook:") \
            and row.recipient.split(":")[1].isdigit() else steps.get(person or "", len(view.chain))
        shown.append((step, _notification(row, names.get(person or "", "a member of staff") if person else None,
                                           failures.get(row.id, 0))))
    return shown


def _person(recipient: str) -> str | None:
    """The staff id a notification went to; None for the duty system's webhook."""
    if recipient.startswith("webhook:"):
        return None
    return reminded_staff(recipient) or recipient


def _notification(row: Any, name: str | None, failed: int) -> Moment:
    reminder = row.recipient.startswith(REMINDER_PREFIX)
    channel = CHANNEL_WORDS.get(row.channel, row.channel.capitalize())
    channel = f"Reminder: {channel.lower()}" if reminder else channel
    who = f" to {name}" if name else ""
    tried = f", tried {failed} {'time' if failed == 1 else 'times'} ({row.last_error})" if failed and row.last_error \
        else ""
    status: NotificationStatus
    if row.status == "sent":
        status, at, text = "delivered", row.sent_at or row.created_at, f"{channel}{who} delivered"
    elif row.status == "dead":
        status, at, text = "dead", row.created_at, f"{channel}{who} could not be delivered{tried}; gave up"
    elif row.status == "cancelled" and failed:
        status, at, text = "failed", row.created_at, f"{channel}{who} failed{tried}; not tried again once the " \
            "alert was acknowledged"
    elif row.status == "cancelled":
        status, at, text = "cancelled", row.created_at, f"{channel}{who} not sent: the alert was acknowledged first"
    elif failed:
        status, at, text = "failed", row.created_at, f"{channel}{who} failed{tried}; trying again"
    else:
        status, at, text = "pending", row.created_at, f"{channel}{who} waiting to be sent"
    return Moment(at, "notification", text, status)


def _from_audit(connection: Connection, view: AlertView) -> list[tuple[int, Moment]]:
    rows = connection.execute(select(audit_events.c.at, audit_events.c.action, audit_events.c.detail).where(
        audit_events.c.object_type == "alert", audit_events.c.object_id == view.id,
        audit_events.c.action.in_([Action.ALERT_SKIP.value, Action.ALERT_EXHAUSTED.value]))
        .order_by(audit_events.c.seq)).all()
    moments = []
    for row in rows:
        at = datetime.fromisoformat(row.at.replace("Z", "+00:00")).astimezone(UTC)
        detail = json.loads(row.detail or "{}")
        step = detail.get("step") if isinstance(detail.get("step"), int) else len(view.chain)
        if row.action == Action.ALERT_SKIP:
            relation = str(detail.get("relation", ""))
            moments.append((step, Moment(at, "skipped", f"Nobody available {_as(relation)}, so that step was "
                                         "skipped (nobody there, or everyone absent or disabled)")))
        else:
            moments.append((len(view.chain), Moment(at, "exhausted", "Nobody left to tell: everyone on the list "
                                                    "has been told and nobody has acknowledged it")))
    return moments
