"""Acting on an alert: finding it, acknowledging, resolving, its sealed outcome, and the dead-letter list.

Acknowledging stops escalation (and cancels notifications still waiting to be
retried). Resolving needs an outcome, sealed at once like an answer and opened
only after the access decision (the organisation policy's ``[outcomes]``), with
an audit event either way. Every step is audited.

Who may open an alert, acknowledge or resolve it is the rule's declared ``act``
(``policy/alert_access.py``), or having been told of it; anyone else is answered
exactly as if the alert did not exist, and their attempt to act is audited.
The lists themselves (inbox, case page, counts) are ``listing``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from casefeedback.alerts.listing import (
    AlertView,
    act_of,
    actor_of,
    for_case,
    inbox,
    may_see,
    open_by_case,
    open_count,
    views,
)
from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth.sessions import StaffMember
from casefeedback.crypto.envelope import IntegrityFailure, SealedField, SubmissionSealer, WrappedDataKey, open_field
from casefeedback.policy.alert_access import alert_note_rules
from casefeedback.policy.decisions import AccessGrant, decide
from casefeedback.policy.model import OUTCOME_CLASS
from casefeedback.reading import case_facts
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import alert_notifications, alerts, staff

# The lists are listing's; named here too for the callers that act on what they list.
__all__ = ["MAX_OUTCOME", "AlertError", "AlertView", "NoSuchAlert", "acknowledge", "find_in", "for_case", "inbox",
           "open_by_case", "open_count", "outcome_of", "resolve", "undelivered"]

MAX_OUTCOME = 4000
TABLE, FIELD = "alerts", "outcome"


class AlertError(Exception):
    """A request about an alert that cannot be done; the message says why, kindly."""


class NoSuchAlert(Exception):
    """Not found, or not yours: the same answer either way."""


def find_in(found: Services, connection: Connection, member: StaffMember, reference: str) -> AlertView:
    """One alert, if the policy lets this person act on it (``may_act_on_alert``); else as if there were none."""
    shown = views(found, connection, alerts.c.reference == reference)
    if not shown or not may_see(found, connection, member, shown[0]):
        raise NoSuchAlert()
    return shown[0]


def _permitted(found: Services, connection: Connection, member: StaffMember, reference: str,
               attempt: Action) -> AlertView | None:
    """The alert to act on, or None; a refused attempt on an alert that exists is audited."""
    shown = views(found, connection, alerts.c.reference == reference)
    if not shown:
        return None
    if not may_see(found, connection, member, shown[0]):
        found.audit.append(connection, AuditEvent(
            action=attempt, outcome="denied", actor_id=member.id, actor_role=member.role, object_type="alert",
            object_id=shown[0].id, detail={"reason": "no_alert_relation"}))
        return None
    return shown[0]


def acknowledge(found: Services, member: StaffMember, reference: str) -> bool:
    """Acknowledge: escalation stops. False if someone already had (nothing changes)."""
    now = found.clock()
    with write(found.engine) as connection:
        view = _permitted(found, connection, member, reference, Action.ALERT_ACKNOWLEDGE)
        changed = view is not None and _acknowledge(found, connection, member, view, now)
    if view is None:
        raise NoSuchAlert()
    return changed


def _acknowledge(found: Services, connection: Connection, member: StaffMember, view: AlertView,
                 now: datetime) -> bool:
    done = connection.execute(alerts.update().where(alerts.c.id == view.id, alerts.c.acknowledged_at.is_(None))
                              .values(acknowledged_at=now, acknowledged_by=member.id, deadline_at=None))
    if done.rowcount != 1:
        return False
    connection.execute(alert_notifications.update().where(
        alert_notifications.c.alert_id == view.id, alert_notifications.c.status == "pending")
        .values(status="cancelled"))
    found.audit.append(connection, AuditEvent(
        action=Action.ALERT_ACKNOWLEDGE, outcome="acknowledged", actor_id=member.id, actor_role=member.role,
        object_type="alert", object_id=view.id, detail={"case": view.case_id or "", "step": view.step}))
    return True


def resolve(found: Services, member: StaffMember, reference: str, outcome: str) -> None:
    """Resolve with an outcome (sealed). Acknowledges it too, if nobody had."""
    text = outcome.strip()
    if not text:
        raise AlertError("Write what you did before resolving the alert.")
    if len(text) > MAX_OUTCOME:
        raise AlertError(f"The outcome can be up to {MAX_OUTCOME} characters. Please shorten it.")
    now = found.clock()
    with write(found.engine) as connection:
        view = _permitted(found, connection, member, reference, Action.ALERT_RESOLVE)
        if view is not None:
            _resolve(found, connection, member, view, text, now)
    if view is None:
        raise NoSuchAlert()


def _resolve(found: Services, connection: Connection, member: StaffMember, view: AlertView, text: str,
             now: datetime) -> None:
    sealer = SubmissionSealer(found.keyring, view.id)
    sealed = sealer.seal(table=TABLE, row_id=view.id, field_id=FIELD, field_class=OUTCOME_CLASS, plaintext=text)
    (key,) = sealer.wrapped_keys()
    done = connection.execute(alerts.update().where(alerts.c.id == view.id, alerts.c.resolved_at.is_(None))
                              .values(resolved_at=now, resolved_by=member.id, data_key_id=key.id,
                                      kek_id=key.kek_id, wrapped_key=key.wrapped, ciphertext=sealed.ciphertext,
                                      deadline_at=None,
                                      acknowledged_at=func.coalesce(alerts.c.acknowledged_at, now),
                                      acknowledged_by=func.coalesce(alerts.c.acknowledged_by, member.id)))
    if done.rowcount != 1:
        raise AlertError("This alert has already been resolved.")
    connection.execute(alert_notifications.update().where(
        alert_notifications.c.alert_id == view.id, alert_notifications.c.status == "pending")
        .values(status="cancelled"))
    found.audit.append(connection, AuditEvent(
        action=Action.ALERT_RESOLVE, outcome="resolved", actor_id=member.id, actor_role=member.role,
        object_type="alert", object_id=view.id, field_class=OUTCOME_CLASS, detail={"case": view.case_id or ""}))


def outcome_of(found: Services, connection: Connection, member: StaffMember,
               view: AlertView) -> tuple[str, str | None]:
    """("none", None), ("open", text), ("withheld", None) or ("unreadable", None): one decision, one audit event.

    Only for someone who may act on the alert (``NoSuchAlert`` otherwise), then the field decision."""
    actor = actor_of(member)
    event: dict[str, Any] = {"actor_id": member.id, "actor_role": member.role, "object_type": "alert",
                             "object_id": view.id, "field_class": OUTCOME_CLASS, "purpose": "casework"}
    if not may_see(found, connection, member, view):
        raise NoSuchAlert()
    row = connection.execute(select(alerts).where(alerts.c.id == view.id)).one()
    if row.ciphertext is None:
        return "none", None
    case = case_facts(connection, row.case_id)
    notes = alert_note_rules(found.policies.organisation.outcomes, act_of(found, view))
    decision = decide(notes, actor, case, row.id, OUTCOME_CLASS, "casework")
    if not isinstance(decision, AccessGrant):
        found.audit.append(connection, AuditEvent(action=Action.FIELD_WITHHOLD, outcome="denied", **event,
                                                  detail={"reason": decision.reason}))
        return "withheld", None
    key = WrappedDataKey(row.data_key_id, row.id, OUTCOME_CLASS, row.kek_id, row.wrapped_key)
    sealed = SealedField(TABLE, row.id, FIELD, OUTCOME_CLASS, row.data_key_id, row.ciphertext)
    try:
        text = open_field(decision, found.keyring, key, sealed)
    except IntegrityFailure:
        found.audit.append(connection, AuditEvent(action=Action.FIELD_OPEN, outcome="integrity_failure", **event))
        return "unreadable", None
    found.audit.append(connection, AuditEvent(action=Action.FIELD_OPEN, outcome="allowed", **event,
                                              detail={"reason": decision.reason}))
    return "open", text


@dataclass(frozen=True)
class Undelivered:
    reference: str
    severity: str
    service_id: str
    channel: str
    recipient_name: str | None
    attempts: int
    last_error: str | None
    since: datetime


def undelivered(found: Services) -> tuple[list[Undelivered], list[AlertView]]:
    """The dead-letter list: notifications given up on, and alerts whose chain ran out unacknowledged."""
    with read(found.engine) as connection:
        rows = connection.execute(
            select(alerts.c.reference, alerts.c.severity, alerts.c.service_id, alert_notifications.c.channel,
                   staff.c.display_name, alert_notifications.c.attempts, alert_notifications.c.last_error,
                   alert_notifications.c.created_at)
            .join(alerts, alerts.c.id == alert_notifications.c.alert_id)
            .outerjoin(staff, staff.c.id == alert_notifications.c.recipient)
            .where(alert_notifications.c.status == "dead").order_by(alert_notifications.c.created_at.desc())).all()
        stranded = views(found, connection, alerts.c.exhausted_at.is_not(None),
                         alerts.c.acknowledged_at.is_(None))
    return [Undelivered(*row) for row in rows], stranded
