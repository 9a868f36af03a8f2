"""Who is told of an alert: named people, from the rule's chain of relations, as things stand at ``now``.

A step of the chain names a relation; the relation is turned into people *at
the moment of telling* (never cached), and anyone disabled, or absent at that
moment, is skipped. A step with nobody available is skipped to the next, at
once: an alert must reach a person who can act, not wait out a deadline on an
empty desk.

The duty rota is dated: a shift runs from ``starts_at`` to ``ends_at`` (UTC),
set on the rota screen (``duty_shifts``) or declared in ``organisation.toml``
(``[[rota]]``). Both count alike.

Anonymous feedback has no case, so the relations that need one
(``case_owner``, ``case_deputy``, ``team_member``, ``team_supervisor``) cannot
name anybody. Its first step is the service's duty rota instead (everyone on
duty now), then whatever in the rule's chain needs no case (``duty_manager``).
The ``duty_manager`` relation names the duty managers on duty for the service
now; when none is (or all of them are away), every available duty manager, so
an escalation is never lost to a gap in the rota.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Table, and_, or_, select

from casefeedback.policy.model import OrganisationPolicy
from casefeedback.policy.relations import CASE_RELATIONS, RELATION_NAMES, holders_clause
from casefeedback.policy.roles import CONTENT_ROLES
from casefeedback.storage.tables import cases, duty_shifts, staff, staff_absences

DUTY_ROTA = "duty_rota"  # a pseudo-relation: everyone available on the service's rota now
DUTY_MANAGER = "duty_manager"


@dataclass(frozen=True)
class Person:
    id: str
    email: str | None
    mobile: str | None = None


def effective_chain(escalate: Sequence[str], case_id: str | None) -> list[str]:
    """The chain as it will be followed: the rule's, or for anonymous feedback the rota first."""
    if case_id is not None:
        return list(escalate)
    return [DUTY_ROTA, *(relation for relation in escalate if relation not in CASE_RELATIONS)]


def in_force(table: Table, now: datetime) -> ColumnElement[bool]:
    """SQL: a dated row (a shift, an absence) that has started and not yet ended at ``now``."""
    return and_(table.c.starts_at <= now, or_(table.c.ends_at.is_(None), table.c.ends_at > now))


def declared_names(organisation: OrganisationPolicy, service_id: str | None, now: datetime) -> set[str]:
    """Usernames the policy declares on duty now (for one service, or any when ``service_id`` is None)."""
    return {shift.username for shift in organisation.rota
            if (service_id is None or shift.service_id == service_id) and shift.starts_at <= now < shift.ends_at}


def on_duty(connection: Connection, organisation: OrganisationPolicy, service_id: str, now: datetime) -> list[str]:
    """Staff ids on the service's rota at ``now`` (screen and policy alike), absent or not."""
    ids = set(connection.execute(select(duty_shifts.c.staff_id).where(
        duty_shifts.c.service_id == service_id, in_force(duty_shifts, now))).scalars())
    names = declared_names(organisation, service_id, now)
    if names:
        ids |= set(connection.execute(select(staff.c.id).where(
            staff.c.username.in_(sorted(names)), staff.c.role.in_(sorted(CONTENT_ROLES)))).scalars())
    return sorted(ids)


def people_for(connection: Connection, relation: str, *, service_id: str, case_id: str | None, now: datetime,
               organisation: OrganisationPolicy) -> list[Person]:
    """The available people a relation names at ``now``, in a stable order (by username)."""
    if relation == DUTY_ROTA:
        return _available(connection, on_duty(connection, organisation, service_id, now), now)
    if relation == DUTY_MANAGER:
        on_shift = _available(connection, on_duty(connection, organisation, service_id, now), now,
                              role=DUTY_MANAGER)
        if on_shift:
            return on_shift
    # Everyone else is read from the one relation table in policy/, the same table the
    # access decision reads: the people told are the people whose relation it is.
    case = connection.execute(select(cases).where(cases.c.id == case_id)).first() if case_id else None
    if relation not in RELATION_NAMES or (relation in CASE_RELATIONS and case is None):
        return []
    ids = connection.execute(select(staff.c.id).where(holders_clause(relation, case, staff))).scalars().all()
    return _available(connection, list(ids), now)


def cover_for(connection: Connection, organisation: OrganisationPolicy, service_id: str,
              now: datetime) -> tuple[list[Person], list[Person]]:
    """(every available duty manager, everyone else available on the service's rota now): who answers
    for an overdue alert. A duty manager on the rota is listed once, as a duty manager."""
    managers = connection.execute(select(staff.c.id).where(staff.c.role == DUTY_MANAGER)).scalars().all()
    told = _available(connection, list(managers), now)
    ids = {person.id for person in told}
    rota = [p for p in _available(connection, on_duty(connection, organisation, service_id, now), now)
            if p.id not in ids]
    return told, rota


def absent_now(now: datetime) -> object:
    """SQL: the ids of staff away at ``now``."""
    return select(staff_absences.c.staff_id).where(in_force(staff_absences, now))


def _available(connection: Connection, ids: list[str], now: datetime, *, role: str | None = None) -> list[Person]:
    if not ids:
        return []
    query = select(staff.c.id, staff.c.email, staff.c.mobile).where(
        staff.c.id.in_(ids), staff.c.enabled.is_(True),
        staff.c.id.not_in(absent_now(now))).order_by(staff.c.username)  # type: ignore[arg-type]
    if role is not None:
        query = query.where(staff.c.role == role)
    return [Person(row.id, row.email, row.mobile) for row in connection.execute(query).all()]


def add_shift(connection: Connection, *, service_id: str, staff_id: str, starts_at: datetime,
              ends_at: datetime | None, set_by: str | None, now: datetime) -> str:
    """Put someone on duty for a service from ``starts_at`` to ``ends_at`` (None: until removed)."""
    shift_id = str(uuid.uuid4())
    connection.execute(duty_shifts.insert().values(id=shift_id, service_id=service_id, staff_id=staff_id,
                                                   starts_at=starts_at, ends_at=ends_at, set_by=set_by,
                                                   created_at=now))
    return shift_id


def add_absence(connection: Connection, *, staff_id: str, starts_at: datetime, ends_at: datetime | None,
                set_by: str | None, now: datetime) -> str:
    """Record someone away from ``starts_at`` to ``ends_at`` (None: until ended): skipped meanwhile."""
    absence_id = str(uuid.uuid4())
    connection.execute(staff_absences.insert().values(id=absence_id, staff_id=staff_id, starts_at=starts_at,
                                                      ends_at=ends_at, set_by=set_by, created_at=now))
    return absence_id
