"""Cases: what a caseworker holds, who may know it exists, who may change it, and the queries behind them.

Seeing a case at all (its reference, its list of feedback) needs a relation to
it — owner, deputy, the supervisor of its team — or an open break-glass; who
may change it is decided the same way. Every one of those rules is read from
``policy/relations.py``, the one place they are declared, in SQL for a list of
cases and in Python for the case in hand. The functions here work inside the
caller's transaction; ``service.py`` opens it. Reading what the feedback says
is decided field by field in the reading service.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, and_, exists, func, insert, select, update

from casefeedback.alerts.inbox import open_by_case
from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth.sessions import StaffMember
from casefeedback.policy.relations import CaseShape, Person, visible_clause, visible_or_glass_clause
from casefeedback.policy.roles import CASE_HOLDER_ROLES
from casefeedback.storage.tables import (
    break_glass,
    cases,
    staff,
    submission_channels,
    submission_reads,
    submissions,
)


class CaseError(Exception):
    """A change to a case cannot be made; the message says why in plain words."""


class CaseNotFound(Exception):
    """No such case for this member: the same answer whether it exists or not, so ids cannot be probed."""


class NotAllowed(Exception):
    """The member may know the case exists, but not make this change to it."""


class ChangeRule(Protocol):
    """A rule from ``policy/relations.py`` that says who may change a case (``may_manage``...)."""

    def __call__(self, person: Person, case: CaseShape, *, through_break_glass: bool) -> bool: ...


@dataclass(frozen=True)
class CaseSummary:
    id: str
    reference: str
    service_id: str
    status: str
    owner_id: str
    submissions: int
    team_id: str = ""
    deputy_id: str | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None
    new_feedback: int = 0
    open_alerts: int = 0
    owner_name: str = ""
    deputy_name: str | None = None
    # Set when the member sees this case only through their own open break-glass.
    break_glass_until: datetime | None = None


@dataclass(frozen=True)
class Received:
    id: str
    submitted_at: datetime
    new: bool  # this member has not opened it yet
    channel: str | None = None  # how it came, if not through the person's own web form (phone, paper...)


def case_event(member: StaffMember, action: Action, case_id: str, outcome: str = "success",
               **detail: str | int | bool | None) -> AuditEvent:
    """The audit event of a change a member made to a case."""
    return AuditEvent(action=action, outcome=outcome, actor_id=member.id, actor_role=member.role,
                      object_type="case", object_id=case_id, detail=detail)


def create_case(connection: Connection, *, member: StaffMember, service_id: str, reference: str,
                now: datetime) -> str:
    if member.team_id is None:
        raise CaseError("You are not in a team, so you cannot hold cases. Ask an administrator to add you to one.")
    duplicate = connection.execute(select(cases.c.id).where(
        cases.c.owner_id == member.id, cases.c.service_id == service_id, cases.c.reference == reference,
        cases.c.status == "open")).first()
    if duplicate is not None:
        # Most often the same form sent twice; either way one open case per reference is clearer.
        raise CaseError("You already have an open case with this reference.")
    case_id = str(uuid.uuid4())
    connection.execute(insert(cases).values(
        id=case_id, service_id=service_id, reference=reference, team_id=member.team_id,
        owner_id=member.id, status="open", created_at=now))
    return case_id


def open_alerts_by_case(connection: Connection, case_ids: Collection[str]) -> Mapping[str, int]:
    """Open (unacknowledged) alerts per case, for the workspace counts."""
    return open_by_case(connection, list(case_ids))


def _summaries(connection: Connection, member: StaffMember, *where: Any,
               now: datetime | None = None) -> list[CaseSummary]:
    active = and_(submissions.c.case_id == cases.c.id, submissions.c.status == "active")
    count = select(func.count()).select_from(submissions).where(active).scalar_subquery()
    unread = (select(func.count()).select_from(submissions)
              .where(active, ~exists().where(submission_reads.c.submission_id == submissions.c.id,
                                             submission_reads.c.staff_id == member.id))
              .scalar_subquery())
    owner, deputy = staff.alias("owner"), staff.alias("deputy")
    glass_until = (select(func.max(break_glass.c.expires_at))
                   .where(break_glass.c.case_id == cases.c.id, break_glass.c.staff_id == member.id,
                          break_glass.c.ended_at.is_(None), break_glass.c.expires_at > now)
                   .scalar_subquery()) if now is not None else None
    columns: list[Any] = [cases, count.label("n"), unread.label("unread"), owner.c.display_name.label("owner_name"),
                          deputy.c.display_name.label("deputy_name"),
                          visible_clause(member, cases).label("normal")]
    if glass_until is not None:
        columns.append(glass_until.label("glass_until"))
    rows = connection.execute(
        select(*columns)
        .join(owner, owner.c.id == cases.c.owner_id)
        .outerjoin(deputy, deputy.c.id == cases.c.deputy_id)
        .where(visible_or_glass_clause(member, cases, break_glass, now), *where)
        .order_by(cases.c.status.desc(), cases.c.created_at.desc())).all()
    alerts = open_alerts_by_case(connection, [r.id for r in rows])
    return [CaseSummary(r.id, r.reference, r.service_id, r.status, r.owner_id, r.n, r.team_id, r.deputy_id,
                        r.created_at, r.closed_at, r.unread, alerts.get(r.id, 0), r.owner_name, r.deputy_name,
                        None if r.normal else getattr(r, "glass_until", None))
            for r in rows]


def cases_for(connection: Connection, member: StaffMember, *, status: str | None = None,
              now: datetime | None = None) -> list[CaseSummary]:
    where = [cases.c.status == status] if status in ("open", "closed") else []
    return _summaries(connection, member, *where, now=now)


def visible_case(connection: Connection, member: StaffMember, case_id: str,
                 now: datetime | None = None) -> CaseSummary | None:
    """The case if this member may know it exists; None for "not yours" and "no such case" alike.

    With ``now``, a case opened by the member's own break-glass counts too.
    """
    found = _summaries(connection, member, cases.c.id == case_id, now=now)
    return found[0] if found else None


def case_or_not_found(connection: Connection, member: StaffMember, case_id: str,
                      now: datetime | None = None) -> CaseSummary:
    """``visible_case``, or CaseNotFound."""
    summary = visible_case(connection, member, case_id, now)
    if summary is None:
        raise CaseNotFound()
    return summary


def case_to_change(connection: Connection, member: StaffMember, case_id: str, rule: ChangeRule) -> CaseSummary:
    """The case, if the member may know it exists through their normal work (else CaseNotFound) and ``rule``
    lets them make the change (else NotAllowed). Break-glass never counts: it is for reading."""
    summary = case_or_not_found(connection, member, case_id)
    if not rule(member, summary, through_break_glass=summary.break_glass_until is not None):
        raise NotAllowed()
    return summary


def close_case(connection: Connection, case_id: str, now: datetime) -> bool:
    """Close an open case; retention periods counted from closing start at ``now``. False if already closed."""
    closed = connection.execute(update(cases).where(cases.c.id == case_id, cases.c.status == "open")
                                .values(status="closed", closed_at=now))
    return closed.rowcount == 1


def deputy_choices(connection: Connection, case: CaseSummary) -> list[tuple[str, str]]:
    """Who may be this case's deputy: enabled caseworkers and supervisors of its team, not its owner."""
    rows = connection.execute(select(staff.c.id, staff.c.display_name).where(
        staff.c.team_id == case.team_id, staff.c.enabled.is_(True), staff.c.role.in_(CASE_HOLDER_ROLES),
        staff.c.id != case.owner_id).order_by(staff.c.display_name)).all()
    return [(r.id, r.display_name) for r in rows]


def set_deputy(connection: Connection, case: CaseSummary, deputy_id: str | None) -> None:
    if deputy_id is not None and deputy_id not in {i for i, _ in deputy_choices(connection, case)}:
        raise CaseError("Choose a caseworker from the case's team.")
    connection.execute(update(cases).where(cases.c.id == case.id).values(deputy_id=deputy_id))


def move_cases(connection: Connection, from_id: str, to_id: str) -> tuple[int, int]:
    """Hand one person's open cases to a colleague in the same team: (moved, left because in another team)."""
    target = connection.execute(select(staff).where(staff.c.id == to_id)).first()
    if target is None or not target.enabled or target.role not in CASE_HOLDER_ROLES or target.id == from_id:
        raise CaseError("Choose an active caseworker or supervisor other than the person whose cases these are.")
    mine = and_(cases.c.owner_id == from_id, cases.c.status == "open")
    moved = connection.execute(update(cases).where(mine, cases.c.team_id == target.team_id)
                               .values(owner_id=to_id)).rowcount
    # Nobody is their own deputy.
    connection.execute(update(cases).where(cases.c.owner_id == to_id, cases.c.deputy_id == to_id)
                       .values(deputy_id=None))
    left = int(connection.execute(select(func.count()).select_from(cases).where(mine)).scalar_one())
    return int(moved), left


def case_counts_by_owner(connection: Connection) -> Mapping[str, int]:
    """Open cases per owner: numbers only, for the administrator (who never sees references or content)."""
    rows = connection.execute(select(cases.c.owner_id, func.count()).where(cases.c.status == "open")
                              .group_by(cases.c.owner_id)).all()
    return {r[0]: int(r[1]) for r in rows}


def case_submissions(connection: Connection, case_id: str, member_id: str | None = None) -> list[Received]:
    seen = (exists().where(submission_reads.c.submission_id == submissions.c.id,
                           submission_reads.c.staff_id == member_id) if member_id else None)
    columns: list[Any] = [submissions.c.id, submissions.c.submitted_at, submission_channels.c.channel]
    if seen is not None:
        columns.append(seen.label("seen"))
    rows = connection.execute(select(*columns)
                              .outerjoin(submission_channels, submission_channels.c.submission_id == submissions.c.id)
                              .where(submissions.c.case_id == case_id, submissions.c.status == "active")
                              .order_by(submissions.c.submitted_at.desc())).all()
    return [Received(r.id, r.submitted_at, seen is not None and not r.seen, r.channel) for r in rows]


def mark_read(connection: Connection, member_id: str, submission_id: str, now: datetime) -> None:
    already = connection.execute(select(submission_reads.c.staff_id).where(
        submission_reads.c.staff_id == member_id, submission_reads.c.submission_id == submission_id)).first()
    if already is None:
        connection.execute(insert(submission_reads).values(staff_id=member_id, submission_id=submission_id,
                                                           first_read_at=now))
