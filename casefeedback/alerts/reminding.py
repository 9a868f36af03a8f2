"""Repeating overdue alerts until someone acknowledges: every ``[alerts] remind_overdue_every``.

Escalation tells the next person in the chain once; an alert still
unacknowledged after its first acknowledgement time (or with nobody left in its
chain) means a person has been waiting longer than the policy allows. So the
moment it becomes overdue (round 0) the people on the service's rota now are
recorded as told of it, so the banner's link opens it for them; one interval
later, and every interval after that, the duty managers and everyone on the
rota now are emailed, until it is acknowledged (``delivery`` cancels what is
still queued the moment it is).

Each round is queued once per person through the outbox (the recipient key
carries the round, so the outbox's once-per-(alert, recipient, channel) rule
still holds) and audited once. A round missed while the worker was down is not
sent late: the next reminder is the current round. The email says only the
reference, the service and how long it has waited (``channels``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from casefeedback.alerts.overdue import overdue_clause, overdue_since
from casefeedback.alerts.raising import queue_notification
from casefeedback.alerts.routing import DUTY_ROTA, Person, cover_for
from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import alert_recipients, alerts

REMINDER_PREFIX = "remind:"


def reminder_recipient(round_number: int, staff_id: str) -> str:
    """The outbox's recipient key for one round to one person: ``remind:<round>:<staff id>``."""
    return f"{REMINDER_PREFIX}{round_number}:{staff_id}"


def reminded_staff(recipient: str) -> str | None:
    """The staff id in a reminder's recipient key; None for anything else."""
    if not recipient.startswith(REMINDER_PREFIX):
        return None
    return recipient.split(":", 2)[2]


def due_round(since: datetime, now: datetime, found: Services) -> int:
    """How many whole intervals the alert has been overdue: the reminder round due now (0: none yet)."""
    every = found.policies.organisation.alerts.remind_overdue_every
    return max(int((now - since) / every), 0)


def remind_due(found: Services) -> int:
    """Queue the reminder round due now for every overdue alert not yet reminded of it; return how many alerts."""
    now = found.clock()
    with read(found.engine) as connection:
        overdue = connection.execute(select(alerts.c.id, alerts.c.raised_at, alerts.c.due_at, alerts.c.exhausted_at,
                                            alerts.c.reminded_round).where(overdue_clause(now))).all()
    reminded = 0
    for row in overdue:
        round_number = due_round(overdue_since(row.due_at, row.exhausted_at, row.raised_at), now, found)
        if _done(row.reminded_round) >= round_number:
            continue
        with write(found.engine) as connection:
            # Re-checked inside the transaction: an acknowledgement that commits first wins.
            alert = connection.execute(select(alerts).where(alerts.c.id == row.id, overdue_clause(now))).first()
            if alert is not None and _done(alert.reminded_round) < round_number:
                _remind(found, connection, alert, round_number, now)
                reminded += 1
    return reminded


def _done(reminded_round: int | None) -> int:
    return -1 if reminded_round is None else reminded_round


def _remind(found: Services, connection: Connection, alert: Row[Any], round_number: int, now: datetime) -> None:
    managers, rota = cover_for(connection, found.policies.organisation, alert.service_id, now)
    connection.execute(alerts.update().where(alerts.c.id == alert.id).values(reminded_round=round_number))
    # Round 0 is the moment it became overdue: escalation has just told the next person, and the
    # banner shows it; the emails start one interval later.
    emailed = [person for person in (*managers, *rota)
               if round_number >= 1 and person.email and found.config.smtp_host]
    for person in emailed:
        queue_notification(connection, alert.id, reminder_recipient(round_number, person.id), "email", now)
    _tell_rota(connection, alert.id, alert.step, rota, now)
    people = [person.id for person in (*managers, *rota)]
    found.audit.append(connection, AuditEvent(
        action=Action.ALERT_REMIND, outcome="reminded" if people else "nobody_available", actor_role="system",
        object_type="alert", object_id=alert.id,
        detail={"round": round_number, "staff": ",".join(people), "emailed": len(emailed)}))


def _tell_rota(connection: Connection, alert_id: str, step: int, rota: list[Person], now: datetime) -> None:
    """Whoever on the rota is reminded has been told, so may open and acknowledge it (policy/alert_access.py).

    Duty managers may act on every alert already; recording them would make
    escalation skip them later as "already told"."""
    told = set(connection.execute(select(alert_recipients.c.staff_id)
                                  .where(alert_recipients.c.alert_id == alert_id)).scalars())
    for person in rota:
        if person.id not in told:
            connection.execute(alert_recipients.insert().values(
                alert_id=alert_id, staff_id=person.id, step=max(step, 0), relation=DUTY_ROTA, told_at=now))
