"""Raising alerts inside the transaction that stores the submission (the outbox pattern).

The alert, who is told first and the notifications to send are written by
the same transaction as the answers that raised them: a crash can never keep
the submission and lose the alert, or the reverse. Nothing is sent from here;
the worker delivers the outbox at once (``delivery``).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from casefeedback.alerts.routing import effective_chain, people_for
from casefeedback.alerts.sms import enabled as sms_enabled
from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.policy.model import AlertRule, ServicePolicy
from casefeedback.services import Services
from casefeedback.storage import dialect
from casefeedback.storage.tables import alert_notifications, alert_recipients, alerts

# How many times a notification is tried before it goes to the dead-letter list,
# unless the rule says otherwise (``delivery_attempts`` in the policy).
DEFAULT_MAX_ATTEMPTS = 8
_REFERENCE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone


def new_reference() -> str:
    return "A-" + "".join(secrets.choice(_REFERENCE_LETTERS) for _ in range(8))


def raise_alerts(found: Services, connection: Connection, policy: ServicePolicy, rules: Sequence[AlertRule], *,
                 submission_id: str, case_id: str | None, now: datetime) -> list[str]:
    """Insert one alert per rule met, and tell its first available step. Return the alert ids."""
    raised = []
    for rule in rules:
        alert_id = str(uuid.uuid4())
        chain = effective_chain(rule.escalate, case_id)
        seconds = max(int((rule.acknowledge_within.after(now) - now).total_seconds()), 1)
        connection.execute(alerts.insert().values(
            id=alert_id, reference=new_reference(), service_id=policy.id, rule_id=rule.id, severity=rule.severity,
            submission_id=submission_id, case_id=case_id, raised_at=now, chain=json.dumps(chain),
            acknowledge_seconds=seconds, max_attempts=_attempts(rule), step=-1, deadline_at=None,
            due_at=now + timedelta(seconds=seconds)))
        found.audit.append(connection, AuditEvent(
            action=Action.ALERT_RAISE, outcome="raised", actor_role="system", object_type="alert", object_id=alert_id,
            detail={"rule": rule.id, "severity": rule.severity, "submission": submission_id,
                    "case": case_id or "", "service": policy.id}))
        tell_next(found, connection, alert_id, now)
        raised.append(alert_id)
    return raised


def _attempts(rule: AlertRule) -> int:
    return rule.delivery_attempts if rule.delivery_attempts > 0 else DEFAULT_MAX_ATTEMPTS


def tell_next(found: Services, connection: Connection, alert_id: str, now: datetime) -> bool:
    """Move an unacknowledged alert to the next step with anyone available; False if the chain has run out.

    Skipped steps (nobody available) are audited, so "why was the deputy not
    told?" has an answer. A chain that runs out leaves the alert in the
    dead-letter list for duty managers and administrators: never silently dropped.
    """
    alert = connection.execute(select(alerts).where(alerts.c.id == alert_id)).one()
    if alert.acknowledged_at is not None:
        return False
    chain: list[str] = json.loads(alert.chain)
    told = set(connection.execute(select(alert_recipients.c.staff_id)
                                  .where(alert_recipients.c.alert_id == alert_id)).scalars())
    for step in range(alert.step + 1, len(chain)):
        people = [p for p in people_for(connection, chain[step], service_id=alert.service_id,
                                        case_id=alert.case_id, now=now, organisation=found.policies.organisation)
                  if p.id not in told]
        if not people:
            _audit(found, connection, alert_id, Action.ALERT_SKIP, "nobody_available", {"step": step,
                                                                                   "relation": chain[step]})
            continue
        for person in people:
            connection.execute(alert_recipients.insert().values(
                alert_id=alert_id, staff_id=person.id, step=step, relation=chain[step], told_at=now))
            if person.email and found.config.smtp_host:
                queue_notification(connection, alert_id, person.id, "email", now)
            if person.mobile and sms_enabled(found.config, found.config.notify_alert_template):
                # A text as well as the email: a phone in a pocket is seen sooner than an inbox.
                queue_notification(connection, alert_id, person.id, "sms", now)
        if found.config.alert_webhook_url:
            queue_notification(connection, alert_id, f"webhook:{step}", "webhook", now)
        connection.execute(alerts.update().where(alerts.c.id == alert_id).values(
            step=step, deadline_at=now + timedelta(seconds=alert.acknowledge_seconds)))
        _audit(found, connection, alert_id, Action.ALERT_NOTIFY if alert.step < 0 else Action.ALERT_ESCALATE, "told",
               {"step": step, "relation": chain[step], "staff": ",".join(p.id for p in people)})
        return True
    connection.execute(alerts.update().where(alerts.c.id == alert_id).values(
        step=len(chain), deadline_at=None, exhausted_at=now))
    _audit(found, connection, alert_id, Action.ALERT_EXHAUSTED, "nobody_left", {"steps": len(chain)})
    return False


def queue_notification(connection: Connection, alert_id: str, recipient: str, channel: str, now: datetime) -> None:
    exists = connection.execute(select(alert_notifications.c.id).where(
        alert_notifications.c.alert_id == alert_id, alert_notifications.c.recipient == recipient,
        alert_notifications.c.channel == channel)).first()
    if exists is None:  # once per (alert, recipient, channel); the unique constraint backs this up
        connection.execute(alert_notifications.insert().values(
            id=str(uuid.uuid4()), alert_id=alert_id, recipient=recipient, channel=channel, status="pending",
            attempts=0, next_attempt_at=now, created_at=now))
        dialect.wake_deliverers(connection)  # sent at once, not at the next poll (PostgreSQL; delivered on commit)


def _audit(found: Services, connection: Connection, alert_id: str, action: Action, outcome: str,
           detail: dict[str, str | int]) -> None:
    found.audit.append(connection, AuditEvent(action=action, outcome=outcome, actor_role="system",
                                              object_type="alert", object_id=alert_id, detail=detail))
