"""The alert inbox: what a person has been told, acknowledging, resolving, and the dead-letter list.

Acknowledging stops escalation (and cancels notifications still waiting to be
retried). Resolving needs an outcome, sealed at once like an answer and opened
only after the access decision (the organisation policy's ``[outcomes]``), with
an audit event either way. Every step is audited.

Who may open an alert, acknowledge or resolve it is the rule's declared ``act``
(``policy/alert_access.py``), or having been told of it; anyone else is answered
exactly as if the alert did not exist, and their attempt to act is audited.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, func, select

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth.sessions import StaffMember
from casefeedback.crypto.envelope import IntegrityFailure, SealedField, SubmissionSealer, WrappedDataKey, open_field
from casefeedback.policy.alert_access import ALWAYS_ACT, may_act_on_alert
from casefeedback.policy.decisions import AccessGrant, Actor, decide
from casefeedback.policy.model import OUTCOME_CLASS
from casefeedback.reading import case_facts
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import alert_notifications, alert_recipients, alerts, cases, staff

MAX_OUTCOME = 4000
TABLE, FIELD = "alerts", "outcome"


class AlertError(Exception):
    """A request about an alert that cannot be done; the message says why, kindly."""


class NoSuchAlert(Exception):
    """Not found, or not yours: the same answer either way."""


@dataclass(frozen=True)
class AlertView:
    id: str
    reference: str
    severity: str
    service_id: str
    rule_id: str
    case_id: str | None
    case_reference: str | None
    raised_at: datetime
    deadline_at: datetime | None
    exhausted_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    chain: list[str]
    step: int

    @property
    def state(self) -> str:
        """open, stranded (nobody left in its chain to tell, still unacknowledged), acknowledged or resolved."""
        if self.resolved_at:
            return "resolved"
        if self.acknowledged_at:
            return "acknowledged"
        # Not one more open row: nobody else will be told, so whoever reads it must act.
        return "stranded" if self.exhausted_at else "open"

    @property
    def awaits_acknowledgement(self) -> bool:
        return self.state in ("open", "stranded")


def _views(connection: Connection, *where: object) -> list[AlertView]:
    acknowledger, resolver = staff.alias("ack"), staff.alias("res")
    rows = connection.execute(
        select(alerts, cases.c.reference.label("case_reference"), acknowledger.c.display_name.label("ack_name"),
               resolver.c.display_name.label("res_name"))
        .outerjoin(cases, cases.c.id == alerts.c.case_id)
        .outerjoin(acknowledger, acknowledger.c.id == alerts.c.acknowledged_by)
        .outerjoin(resolver, resolver.c.id == alerts.c.resolved_by)
        .where(*where)  # type: ignore[arg-type]
        .order_by(alerts.c.acknowledged_at.is_not(None), alerts.c.raised_at.desc())).all()
    return [AlertView(r.id, r.reference, r.severity, r.service_id, r.rule_id, r.case_id, r.case_reference,
                      r.raised_at, r.deadline_at, r.exhausted_at, r.acknowledged_at, r.ack_name, r.resolved_at,
                      r.res_name, json.loads(r.chain), r.step) for r in rows]


def _told(member_id: str) -> object:
    return exists().where(alert_recipients.c.alert_id == alerts.c.id, alert_recipients.c.staff_id == member_id)


def inbox(found: Services, member: StaffMember) -> list[AlertView]:
    """Every alert this person was told of and may act on (open ones first)."""
    with read(found.engine) as connection:
        views = _views(connection, _told(member.id))
        return [view for view in views if _may_see(found, connection, member, view, told=True)]


def open_count(found: Services, member_id: str) -> int:
    """Alerts this person was told of that nobody has acknowledged yet: the count on every staff page."""
    with read(found.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(alerts).where(
            alerts.c.acknowledged_at.is_(None), _told(member_id))).scalar_one())  # type: ignore[arg-type]


def open_by_case(connection: Connection, case_ids: list[str]) -> Mapping[str, int]:
    if not case_ids:
        return {}
    rows = connection.execute(select(alerts.c.case_id, func.count()).where(
        alerts.c.case_id.in_(case_ids), alerts.c.acknowledged_at.is_(None)).group_by(alerts.c.case_id)).all()
    return {row[0]: int(row[1]) for row in rows}


def for_case(found: Services, case_id: str) -> list[AlertView]:
    """The case's alerts, for the case page (call only for a case the reader may see)."""
    with read(found.engine) as connection:
        return _views(connection, alerts.c.case_id == case_id)


def find(found: Services, member: StaffMember, reference: str) -> AlertView:
    """One alert, if the policy lets this person act on it (``may_act_on_alert``); else as if there were none."""
    with read(found.engine) as connection:
        views = _views(connection, alerts.c.reference == reference)
        if not views or not _may_see(found, connection, member, views[0]):
            raise NoSuchAlert()
        return views[0]


def _may_see(found: Services, connection: Connection, member: StaffMember, view: AlertView, *,
             told: bool | None = None) -> bool:
    if told is None:
        told = connection.execute(select(alert_recipients.c.staff_id).where(
            alert_recipients.c.alert_id == view.id, alert_recipients.c.staff_id == member.id)).first() is not None
    return may_act_on_alert(_actor(member), case_facts(connection, view.case_id), _act(found, view), told=told)


def _act(found: Services, view: AlertView) -> tuple[str, ...]:
    """The rule's declared ``act``; a rule since removed from the policy keeps only those who always act."""
    policy = found.policies.service(view.service_id)
    rule = next((r for r in policy.alerts if r.id == view.rule_id), None) if policy else None
    return rule.act if rule else ALWAYS_ACT


def _permitted(found: Services, connection: Connection, member: StaffMember, reference: str,
               attempt: Action) -> AlertView | None:
    """The alert to act on, or None; a refused attempt on an alert that exists is audited."""
    views = _views(connection, alerts.c.reference == reference)
    if not views:
        return None
    if not _may_see(found, connection, member, views[0]):
        found.audit.append(connection, AuditEvent(
            action=attempt, outcome="denied", actor_id=member.id, actor_role=member.role, object_type="alert",
            object_id=views[0].id, detail={"reason": "no_alert_relation"}))
        return None
    return views[0]


def _actor(member: StaffMember) -> Actor:
    return Actor(member.id, member.role, member.team_id)


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
        raise AlertError("Write what was done before resolving the alert.")
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


def read_outcome(found: Services, member: StaffMember, view: AlertView) -> tuple[str, str | None]:
    """("open", text), ("withheld", None) or ("unreadable", None): one decision, one audit event.

    Only for someone who may act on the alert (``NoSuchAlert`` otherwise), then the field decision."""
    actor = _actor(member)
    event: dict[str, Any] = {"actor_id": member.id, "actor_role": member.role, "object_type": "alert",
                             "object_id": view.id, "field_class": OUTCOME_CLASS, "purpose": "casework"}
    with write(found.engine) as connection:
        if not _may_see(found, connection, member, view):
            raise NoSuchAlert()
        row = connection.execute(select(alerts).where(alerts.c.id == view.id)).one()
        if row.ciphertext is None:
            return "none", None
        case = case_facts(connection, row.case_id)
        decision = decide(found.policies.organisation, actor, case, row.id, OUTCOME_CLASS, "casework")
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
        stranded = _views(connection, alerts.c.exhausted_at.is_not(None), alerts.c.acknowledged_at.is_(None))
    return [Undelivered(*row) for row in rows], stranded
