"""Break-glass: a supervisor or duty manager opens a case outside their normal access.

Only with a written reason, only after confirming who they are (password and a
fresh code), only for a limited time (``[break_glass] lasts``), and never
quietly: the case team's supervisors are notified, and the audit log records
``break_glass.open`` with ``"break_glass": true`` — as does every field opened
through it (``field.open`` with ``"break_glass": true``) — so the auditor view
can flag each one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth import signin
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import visible_case
from casefeedback.casework.notifications import notify
from casefeedback.policy.decisions import BreakGlass
from casefeedback.policy.roles import BREAK_GLASS_ROLES
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import break_glass, cases, staff

MIN_REASON = 20
MAX_REASON = 1000


class Refused(Exception):
    """Break-glass cannot be opened; the message says why in plain words, ``status`` the HTTP status."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


class NotConfirmed(Exception):
    """The password or the code was not right; ``locked_until`` is set when there were too many attempts."""

    def __init__(self, locked_until: datetime | None) -> None:
        super().__init__("identity not confirmed")
        self.locked_until = locked_until


@dataclass(frozen=True)
class Opened:
    id: str
    case_id: str
    expires_at: datetime
    new: bool  # False: one was already open (e.g. the form was sent twice)


def find_case(connection: Connection, key: str) -> Any:
    """A case by its id or by its reference, if exactly one case has it."""
    key = key.strip()
    rows = connection.execute(select(cases).where(or_(cases.c.id == key, cases.c.reference == key)).limit(2)).all()
    if not rows:
        raise Refused("No case has that reference or id. Check it and try again.", 404)
    if len(rows) > 1:
        raise Refused("More than one case has that reference. Use the case's id instead "
                      "(it is in the alert, or ask the caseworker).")
    return rows[0]


def active(connection: Connection, staff_id: str, case_id: str, now: datetime,
           read_as: tuple[str, ...]) -> BreakGlass | None:
    row = connection.execute(select(break_glass).where(
        break_glass.c.staff_id == staff_id, break_glass.c.case_id == case_id, break_glass.c.ended_at.is_(None),
        break_glass.c.expires_at > now).order_by(break_glass.c.expires_at.desc())).first()
    return BreakGlass(row.id, row.staff_id, read_as, row.expires_at) if row else None


def check(connection: Connection, member: StaffMember, case_key: str, reason: str) -> Any:
    """The case to open, or Refused: wrong role, weak reason, no such case, or normal access already."""
    if member.role not in BREAK_GLASS_ROLES:
        raise Refused("Only supervisors and duty managers can use break-glass.", 403)
    if len(reason.strip()) < MIN_REASON:
        raise Refused(f"Write why you need to open this case (at least {MIN_REASON} characters). "
                      "An auditor and the case team's supervisor will read it.", 400)
    case = find_case(connection, case_key)
    if visible_case(connection, member, case.id) is not None:
        raise Refused("You can already open this case as part of your normal work: break-glass is not needed.")
    return case


def open_break_glass(found: Services, member: StaffMember, session_token: str, *, case_key: str, reason: str,
                     password: str, code: str) -> Opened:
    """Open break-glass on a case (or return the one already open): Refused, or NotConfirmed.

    The case and reason are checked before the password and code, so a mistyped
    reference costs no sign-in attempt; and again in the writing transaction,
    because the case may have changed while they confirmed who they are.
    """
    with read(found.engine) as connection:
        check(connection, member, case_key, reason)
    step = signin.confirm_identity(found, member, session_token, password, code, purpose="break_glass")
    if step.outcome != "ok":
        raise NotConfirmed(step.locked_until if step.outcome == "locked" else None)
    with write(found.engine) as connection:
        return _open(found, connection, member, check(connection, member, case_key, reason), reason)


def _open(found: Services, connection: Connection, member: StaffMember, case: Any, reason: str) -> Opened:
    now, rules = found.clock(), found.policies.organisation.break_glass
    existing = active(connection, member.id, case.id, now, rules.read_as)
    if existing is not None:
        return Opened(existing.id, case.id, existing.expires_at, new=False)
    glass_id, expires_at = str(uuid.uuid4()), now + rules.lasts
    connection.execute(insert(break_glass).values(id=glass_id, staff_id=member.id, case_id=case.id,
                                                  reason=reason.strip(), opened_at=now, expires_at=expires_at))
    told = _notify_supervisors(connection, member, case, glass_id, reason.strip(), now, expires_at)
    found.audit.append(connection, AuditEvent(
        action=Action.BREAK_GLASS_OPEN, outcome="granted", actor_id=member.id, actor_role=member.role,
        object_type="case", object_id=case.id,
        detail={"break_glass": True, "break_glass_id": glass_id, "reason": reason.strip(),
                "expires_at": expires_at.isoformat(), "supervisors_notified": told}))
    return Opened(glass_id, case.id, expires_at, new=True)


def _notify_supervisors(connection: Connection, member: StaffMember, case: Any, glass_id: str, reason: str,
                        now: datetime, until: datetime) -> int:
    """Tell the supervisors of the case's team (the case owner's supervisors)."""
    supervisors = connection.execute(select(staff.c.id).where(
        staff.c.team_id == case.team_id, staff.c.role == "supervisor", staff.c.enabled.is_(True),
        staff.c.id != member.id)).scalars().all()
    message = (f"{member.display_name} ({member.role.replace('_', ' ')}) used break-glass to open case "
               f"{case.reference} at {now:%H:%M} UTC on {now:%d %B %Y}, until {until:%H:%M} UTC. "
               f"Their reason: {reason}")
    for supervisor_id in supervisors:
        notify(connection, recipient_id=supervisor_id, kind="break_glass", message=message, now=now,
               case_id=case.id, subject_id=glass_id)
    return len(supervisors)


def end_break_glass(found: Services, member: StaffMember, case_id: str) -> bool:
    """End the member's own open break-glass on a case at once; False if they had none open."""
    now = found.clock()
    with write(found.engine) as connection:
        ended = connection.execute(update(break_glass).where(
            break_glass.c.staff_id == member.id, break_glass.c.case_id == case_id, break_glass.c.ended_at.is_(None),
            break_glass.c.expires_at > now).values(ended_at=now)).rowcount
        if ended:
            found.audit.append(connection, AuditEvent(
                action=Action.BREAK_GLASS_END, outcome="ended", actor_id=member.id, actor_role=member.role,
                object_type="case", object_id=case_id, detail={"break_glass": True}))
    return bool(ended)
