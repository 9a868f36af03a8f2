"""Overdue alerts: unacknowledged past the time acknowledgement was first due, or with nobody left to tell.

An alert can be overdue while escalation carries on (each step has its own
deadline), and a stranded one (``exhausted_at``) has nobody left in its chain
at all. Either way a person is waiting. So they are shown at the top of every
staff page to the people who answer for cover — duty managers
(``OVERDUE_WATCH_ROLES``) and whoever is on the rota now for the alert's
service, unless away — and repeated to them by email (``reminding``) until
someone acknowledges.

What is shown says only that the alert exists: its reference, service and how
long it has waited. Never an answer, nor which rule fired, so nothing is
opened and nothing needs auditing here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select

from casefeedback.alerts.routing import in_force
from casefeedback.auth.sessions import StaffMember
from casefeedback.policy.model import PolicySet
from casefeedback.policy.roles import CONTENT_ROLES, OVERDUE_WATCH_ROLES
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import alerts, duty_shifts, staff_absences

MAX_SHOWN = 20  # a banner longer than this hides the page; the alerts list has the rest


@dataclass(frozen=True)
class OverdueAlert:
    reference: str
    service_id: str
    service_name: str
    overdue_for: timedelta
    stranded: bool  # nobody left in its chain to tell

    @property
    def overdue_words(self) -> str:
        return in_words(self.overdue_for)


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """SQL: unacknowledged, and past its first acknowledgement time or with nobody left to tell.

    Served by ``ix_alerts_overdue`` (acknowledged_at, due_at): the unacknowledged
    alerts are few, however long the history."""
    return and_(alerts.c.acknowledged_at.is_(None), or_(alerts.c.due_at <= now, alerts.c.exhausted_at.is_not(None)))


def overdue_since(due_at: datetime | None, exhausted_at: datetime | None, raised_at: datetime) -> datetime:
    """When the alert became overdue: its first acknowledgement time, or sooner if nobody was left to tell."""
    moments = [moment for moment in (due_at, exhausted_at) if moment is not None]
    return min(moments) if moments else raised_at


def in_words(span: timedelta) -> str:
    """How long, as a person says it: "less than a minute", "12 minutes", "2 hours 5 minutes", "3 days 1 hour"."""
    minutes = max(int(span.total_seconds()) // 60, 0)
    if minutes < 1:
        return "less than a minute"
    days, hours, minutes = minutes // 1440, minutes % 1440 // 60, minutes % 60

    def unit(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    if days:
        return unit(days, "day") + (f" {unit(hours, 'hour')}" if hours else "")
    if hours:
        return unit(hours, "hour") + (f" {unit(minutes, 'minute')}" if minutes else "")
    return unit(minutes, "minute")


def watches_all(role: str) -> bool:
    return role in OVERDUE_WATCH_ROLES


def overdue_for(found: Services, member: StaffMember) -> list[OverdueAlert]:
    """The overdue alerts this person answers for now; empty for anyone who answers for none.

    One indexed query (none for roles that are never on the rota)."""
    if member.role not in CONTENT_ROLES:
        return []
    now = found.clock()
    where: list[ColumnElement[bool]] = [overdue_clause(now)]
    if not watches_all(member.role):
        # On the rota now, for these services, and not away: the same test routing applies.
        on_shift = select(duty_shifts.c.service_id).where(duty_shifts.c.staff_id == member.id,
                                                          in_force(duty_shifts, now))
        declared = sorted({s.service_id for s in found.policies.organisation.rota
                           if s.username == member.username and s.starts_at <= now < s.ends_at})
        away = exists().where(staff_absences.c.staff_id == member.id, in_force(staff_absences, now))
        where += [or_(alerts.c.service_id.in_(on_shift), alerts.c.service_id.in_(declared)), not_(away)]
    with read(found.engine) as connection:
        rows = connection.execute(
            select(alerts.c.reference, alerts.c.service_id, alerts.c.raised_at, alerts.c.due_at,
                   alerts.c.exhausted_at).where(*where).order_by(alerts.c.due_at).limit(MAX_SHOWN)).all()
    return [OverdueAlert(row.reference, row.service_id, service_name(found.policies, row.service_id),
                         now - overdue_since(row.due_at, row.exhausted_at, row.raised_at), row.exhausted_at is not None)
            for row in rows]


def service_name(policies: PolicySet, service_id: str) -> str:
    policy = policies.service(service_id)
    return policy.name.get("en", service_id) if policy else service_id
