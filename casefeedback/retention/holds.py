"""Legal hold: while a case is on hold, retention erases nothing of it.

A hold is set with a reason (a court order, a complaint, an inquiry) and lifted
with one; both are audited. Withdrawal of consent is NOT suspended by a hold:
the person's right to withdraw is theirs, and a lawful need to keep their
words despite it is a decision for a person, not for this code.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from casefeedback.audit import AuditEvent, AuditLog
from casefeedback.audit.actions import Action
from casefeedback.storage.tables import cases, legal_holds

MAX_REASON = 500


class HoldError(Exception):
    """A hold cannot be set or lifted; the message says why."""


@dataclass(frozen=True)
class Hold:
    id: str
    case_id: str
    reason: str
    set_by: str | None
    set_at: datetime
    released_at: datetime | None


def _clean_reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise HoldError("give a reason: a legal hold must say why it is needed")
    if len(reason) > MAX_REASON:
        raise HoldError(f"the reason is {len(reason)} characters long; keep it to {MAX_REASON}")
    return reason


def set_hold(connection: Connection, audit: AuditLog, *, case_id: str, reason: str, now: datetime,
             actor_id: str | None = None, actor_role: str | None = None) -> str:
    reason = _clean_reason(reason)
    if connection.execute(select(cases.c.id).where(cases.c.id == case_id)).first() is None:
        raise HoldError(f"there is no case {case_id}")
    if active_hold(connection, case_id) is not None:
        raise HoldError(f"case {case_id} is already on legal hold")
    hold_id = str(uuid.uuid4())
    connection.execute(legal_holds.insert().values(id=hold_id, case_id=case_id, reason=reason, set_by=actor_id,
                                                   set_at=now))
    audit.append(connection, AuditEvent(action=Action.LEGAL_HOLD_SET, outcome="success", actor_id=actor_id,
                                        actor_role=actor_role, object_type="case", object_id=case_id,
                                        detail={"hold": hold_id, "reason": reason}))
    return hold_id


def release_hold(connection: Connection, audit: AuditLog, *, case_id: str, reason: str, now: datetime,
                 actor_id: str | None = None, actor_role: str | None = None) -> str:
    reason = _clean_reason(reason)
    hold = active_hold(connection, case_id)
    if hold is None:
        raise HoldError(f"case {case_id} is not on legal hold")
    connection.execute(update(legal_holds).where(legal_holds.c.id == hold.id).values(
        released_at=now, released_by=actor_id, release_reason=reason))
    audit.append(connection, AuditEvent(action=Action.LEGAL_HOLD_RELEASE, outcome="success", actor_id=actor_id,
                                        actor_role=actor_role, object_type="case", object_id=case_id,
                                        detail={"hold": hold.id, "reason": reason}))
    return hold.id


def active_hold(connection: Connection, case_id: str) -> Hold | None:
    row = connection.execute(select(legal_holds).where(legal_holds.c.case_id == case_id,
                                                       legal_holds.c.released_at.is_(None))).first()
    return Hold(row.id, row.case_id, row.reason, row.set_by, row.set_at, row.released_at) if row else None


def holds(connection: Connection, *, active_only: bool = True) -> list[Hold]:
    query = select(legal_holds).order_by(legal_holds.c.set_at)
    if active_only:
        query = query.where(legal_holds.c.released_at.is_(None))
    return [Hold(r.id, r.case_id, r.reason, r.set_by, r.set_at, r.released_at) for r in connection.execute(query)]
