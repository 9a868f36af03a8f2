"""Delivering the outbox: claim, send, record; retry with backoff; dead-letter; never drop.

Delivered once, within a bound: a row is claimed (committed) before it is
sent and marked sent (committed) after. If the worker dies between the
server accepting a message and that second commit, the claim's lease runs out
and the message is sent again: **at most one duplicate per (alert, recipient,
channel) for each crash that lands inside that window** (SECURITY.md). The
other way round — a claim committed and never sent — is retried, so nothing
is lost.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, func, or_, select

from casefeedback.alerts import sms
from casefeedback.alerts.channels import DeliveryFailed, Notice, send_email, send_webhook
from casefeedback.alerts.overdue import in_words, overdue_since, service_name
from casefeedback.alerts.raising import tell_next
from casefeedback.alerts.reminding import reminded_staff
from casefeedback.services import Services
from casefeedback.storage import dialect
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import alert_attempts, alert_notifications, alert_recipients, alerts, staff

log = logging.getLogger(__name__)

# A claim older than this is taken to belong to a worker that died mid-send.
LEASE = timedelta(seconds=60)
BACKOFF_BASE = timedelta(seconds=5)
BACKOFF_CAP = timedelta(minutes=15)
BATCH = 50
MAX_ROUNDS = 20
SENDERS = 4  # connections at once to the mail server, Notify and the webhook


@dataclass
class Delivered:
    sent: int = 0
    failed: int = 0
    dead: int = 0

    def summary(self) -> str:
        return f"{self.sent} sent, {self.failed} to retry, {self.dead} undeliverable"


def backoff(attempts: int) -> timedelta:
    """Exponential (5 s, 10 s, 20 s … up to 15 min) plus up to half as much again at random.

    The jitter spreads retries out, so a mail server coming back up is not hit
    by every waiting notification in the same second.
    """
    step: timedelta = min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)
    return step + timedelta(milliseconds=secrets.randbelow(int(step.total_seconds() * 500) + 1))


def deliver_due(found: Services) -> Delivered:
    """Send everything due now (including claims whose worker died).

    A batch is claimed in one transaction, sent over a few connections at once
    (a burst of alerts must not queue behind one slow handshake), and recorded
    in one transaction.
    """
    done = Delivered()
    for _round in range(MAX_ROUNDS):  # a burst larger than one batch goes out now, not on the next tick
        claimed = _claim(found)
        if claimed:
            rows = _load(found, claimed)
            with ThreadPoolExecutor(max_workers=SENDERS) as pool:
                failures = list(pool.map(lambda item: _send(found, *item), rows))
            _record(found, [row for row, _email in rows], failures, done)
        if len(claimed) < BATCH:
            break
    return done


def _claim(found: Services) -> list[str]:
    now = found.clock()
    due = or_(and_(alert_notifications.c.status == "pending", alert_notifications.c.next_attempt_at <= now),
              and_(alert_notifications.c.status == "sending", alert_notifications.c.claimed_at <= now - LEASE))
    with write(found.engine) as connection:
        rows = connection.execute(dialect.claiming(
            select(alert_notifications.c.id, alerts.c.acknowledged_at)
            .join(alerts, alerts.c.id == alert_notifications.c.alert_id)
            .where(due).order_by(alert_notifications.c.next_attempt_at).limit(BATCH), alert_notifications)).all()
        claimed = []
        for row in rows:
            if row.acknowledged_at is not None:  # someone is acting on it: telling more people is noise
                connection.execute(alert_notifications.update().where(alert_notifications.c.id == row.id)
                                   .values(status="cancelled"))
                continue
            connection.execute(alert_notifications.update().where(alert_notifications.c.id == row.id).values(
                status="sending", claimed_at=now, attempts=alert_notifications.c.attempts + 1))
            claimed.append(row.id)
    return claimed


def _load(found: Services, ids: list[str]) -> list[tuple[Row[Any], str | None]]:
    with read(found.engine) as connection:
        rows = connection.execute(
            select(alert_notifications, alerts.c.reference, alerts.c.severity, alerts.c.service_id,
                   alerts.c.deadline_at, alerts.c.step, alerts.c.max_attempts, alerts.c.raised_at, alerts.c.due_at,
                   alerts.c.exhausted_at, staff.c.email, staff.c.mobile,
                   _first_step.label("first_step"), _recipient_step.label("recipient_step"))
            .join(alerts, alerts.c.id == alert_notifications.c.alert_id)
            .outerjoin(staff, staff.c.id == alert_notifications.c.recipient)
            .where(alert_notifications.c.id.in_(ids))).all()
        # A reminder's recipient key names the round as well as the person (``reminding``).
        reminded = {row.id: person for row in rows if (person := reminded_staff(row.recipient))}
        emails = dict(connection.execute(select(staff.c.id, staff.c.email).where(
            staff.c.id.in_(sorted(set(reminded.values()))))).all()) if reminded else {}
    return [(row, _address(row, emails.get(reminded.get(row.id, "")))) for row in rows]


def _address(row: Row[Any], reminded_email: str | None) -> str | None:
    """Where this notification goes: an email address, a mobile number, or None (the webhook)."""
    if row.channel == "email":
        return reminded_email if reminded_staff(row.recipient) else row.email
    return row.mobile if row.channel == "sms" else None


# The step at which anyone was first told, and the step this recipient was told at:
# a later step is an escalation (the email says so), whatever the step's number.
_first_step = (select(func.min(alert_recipients.c.step)).where(alert_recipients.c.alert_id == alerts.c.id)
               .scalar_subquery())
_recipient_step = (select(alert_recipients.c.step).where(alert_recipients.c.alert_id == alerts.c.id,
                                                         alert_recipients.c.staff_id == alert_notifications.c.recipient)
                   .scalar_subquery())


def _event(row: Row[Any]) -> str:
    if reminded_staff(row.recipient):
        return "reminder"
    step = row.recipient_step
    if step is None and row.recipient.startswith("webhook:"):
        step = int(row.recipient.split(":", 1)[1])
    return "escalation" if step is not None and row.first_step is not None and step > row.first_step else "alert"


def _send(found: Services, row: Row[Any], address: str | None) -> str | None:
    """Send one notification; None if delivered, else the kind of failure."""
    event = _event(row)
    link = f"{found.config.public_url}/alerts/a/{row.reference}"
    if event == "reminder":
        waited = found.clock() - overdue_since(row.due_at, row.exhausted_at, row.raised_at)
        notice = Notice(row.reference, row.severity, service_name(found.policies, row.service_id), None, link, event,
                        overdue=in_words(waited))
    else:
        notice = Notice(row.reference, row.severity, row.service_id, row.deadline_at, link, event)
    try:
        if row.channel == "email":
            if not address:
                raise DeliveryFailed("no email address")
            send_email(found.config, address, notice)
        elif row.channel == "sms":
            if not address:
                raise DeliveryFailed("no mobile number")
            sms.send_alert(found.config, address, notice, reference=f"alert-{row.reference}")
        else:
            # The outbox row's id names the message: the same on each retry, so the duty system can drop a repeat.
            send_webhook(found.config, notice, int(found.clock().timestamp()), f"msg_{row.id}")
    except DeliveryFailed as failure:
        return failure.kind
    return None


def _record(found: Services, rows: list[Row[Any]], failures: list[str | None], done: Delivered) -> None:
    now = found.clock()
    with write(found.engine) as connection:
        for row, kind in zip(rows, failures, strict=True):
            if kind is None:
                connection.execute(alert_notifications.update().where(alert_notifications.c.id == row.id).values(
                    status="sent", sent_at=now, last_error=None, claimed_at=None))
                _attempt(connection, row.id, now, "sent", None)
                done.sent += 1
            else:
                _failed(found, connection, row, kind, now, done)


def _failed(found: Services, connection: Connection, row: Row[Any], kind: str, now: datetime,
            done: Delivered) -> None:
    dead = row.attempts >= row.max_attempts
    # The reason is a short kind ("recipient refused", "timed out"), never the server's reply: a reply can quote.
    log.warning("alert %s: %s notification %s failed (%s), attempt %d of %d%s", row.reference, row.channel,
                row.id, kind, row.attempts, row.max_attempts, "; undeliverable, escalating" if dead else "")
    values: dict[str, object] = {"last_error": kind[:120], "claimed_at": None}
    if dead:
        values["status"] = "dead"
    else:
        values.update(status="pending", next_attempt_at=now + backoff(row.attempts))
    connection.execute(alert_notifications.update().where(alert_notifications.c.id == row.id).values(**values))
    _attempt(connection, row.id, now, "failed", kind)
    if dead and row.channel in ("email", "sms") and not reminded_staff(row.recipient) \
            and not _reached_otherwise(connection, row):
        # The person may never hear of it: do not wait out their deadline. (A reminder that
        # cannot be delivered is not a step of the chain; the banner still shows the alert.)
        tell_next(found, connection, row.alert_id, now)
    if dead:
        done.dead += 1
    else:
        done.failed += 1


def _reached_otherwise(connection: Connection, row: Row[Any]) -> bool:
    """The same person was told of this alert another way (their email went, though their text did not)."""
    return connection.execute(select(alert_notifications.c.id).where(
        alert_notifications.c.alert_id == row.alert_id, alert_notifications.c.recipient == row.recipient,
        alert_notifications.c.id != row.id, alert_notifications.c.status == "sent")).first() is not None


def _attempt(connection: Connection, notification_id: str, at: datetime, outcome: str, error: str | None) -> None:
    connection.execute(alert_attempts.insert().values(
        id=str(uuid.uuid4()), notification_id=notification_id, at=at, outcome=outcome, error=error))
