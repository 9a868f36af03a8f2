"""Cases: what a caseworker holds, and who stands in which relation to it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, false, func, insert, or_, select

from casefeedback.auth.sessions import StaffMember
from casefeedback.storage.tables import cases, submissions


@dataclass(frozen=True)
class CaseSummary:
    id: str
    reference: str
    service_id: str
    status: str
    owner_id: str
    submissions: int


def create_case(connection: Connection, *, member: StaffMember, service_id: str, reference: str,
                now: datetime) -> str:
    if member.team_id is None:
        raise ValueError("a staff member without a team cannot hold cases")
    case_id = str(uuid.uuid4())
    connection.execute(insert(cases).values(
        id=case_id, service_id=service_id, reference=reference, team_id=member.team_id,
        owner_id=member.id, status="open", created_at=now))
    return case_id


def _visible_to(member: StaffMember) -> ColumnElement[bool]:
    """Owner, deputy, or the supervisor of the case's team. Nobody else sees a case exists."""
    clauses = [cases.c.owner_id == member.id, cases.c.deputy_id == member.id]
    if member.role == "supervisor" and member.team_id:
        clauses.append(cases.c.team_id == member.team_id)
    if member.role not in ("caseworker", "supervisor", "duty_manager"):
        return false()
    return or_(*clauses)


def _summaries(connection: Connection, member: StaffMember, *where: Any) -> list[CaseSummary]:
    count = (select(func.count()).select_from(submissions)
             .where(submissions.c.case_id == cases.c.id, submissions.c.status == "active")
             .scalar_subquery())
    rows = connection.execute(select(cases, count.label("n")).where(_visible_to(member), *where)
                              .order_by(cases.c.status.desc(), cases.c.created_at.desc())).all()
    return [CaseSummary(r.id, r.reference, r.service_id, r.status, r.owner_id, r.n) for r in rows]


def cases_for(connection: Connection, member: StaffMember) -> list[CaseSummary]:
    return _summaries(connection, member)


def visible_case(connection: Connection, member: StaffMember, case_id: str) -> CaseSummary | None:
    """The case if this member may know it exists; None for "not yours" and "no such case" alike."""
    found = _summaries(connection, member, cases.c.id == case_id)
    return found[0] if found else None


def case_submissions(connection: Connection, case_id: str) -> list[tuple[str, datetime]]:
    rows = connection.execute(select(submissions.c.id, submissions.c.submitted_at)
                              .where(submissions.c.case_id == case_id, submissions.c.status == "active")
                              .order_by(submissions.c.submitted_at.desc())).all()
    return [(r.id, r.submitted_at) for r in rows]
