"""Who is told of an alert: named people, from the rule's chain of relations.

A step of the chain names a relation; the relation is turned into people *now*
(never cached), and anyone disabled or marked absent is skipped. A step with
nobody available is skipped to the next, at once: an alert must reach a person
who can act, not wait out a deadline on an empty desk.

Anonymous feedback has no case, so the relations that need one
(``case_owner``, ``case_deputy``, ``team_member``, ``team_supervisor``) cannot
name anybody. Its first step is the service's duty rota instead (the first
available person on it), then whatever in the rule's chain needs no case
(``duty_manager``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from casefeedback.policy.relations import CASE_RELATIONS, RELATION_NAMES, holders_clause
from casefeedback.storage.tables import cases, duty_rota, staff, staff_absences

DUTY_ROTA = "duty_rota"  # a pseudo-relation: the first available person on the service's rota


@dataclass(frozen=True)
class Person:
    id: str
    email: str | None


def effective_chain(escalate: Sequence[str], case_id: str | None) -> list[str]:
    """The chain as it will be followed: the rule's, or for anonymous feedback the rota first."""
    if case_id is not None:
        return list(escalate)
    return [DUTY_ROTA, *(relation for relation in escalate if relation not in CASE_RELATIONS)]


def people_for(connection: Connection, relation: str, *, service_id: str, case_id: str | None) -> list[Person]:
    """The available people a relation names now, in a stable order."""
    if relation == DUTY_ROTA:
        on_rota = connection.execute(
            select(duty_rota.c.staff_id).where(duty_rota.c.service_id == service_id)
            .order_by(duty_rota.c.position)).scalars().all()
        available = {p.id: p for p in _available(connection, list(on_rota))}
        first = next((staff_id for staff_id in on_rota if staff_id in available), None)
        return [available[first]] if first else []
    # Everyone else is read from the one relation table in policy/, the same table the
    # access decision reads: the people told are the people whose relation it is.
    case = connection.execute(select(cases).where(cases.c.id == case_id)).first() if case_id else None
    if relation not in RELATION_NAMES or (relation in CASE_RELATIONS and case is None):
        return []
    ids = connection.execute(select(staff.c.id).where(holders_clause(relation, case, staff))
                             .order_by(staff.c.username)).scalars().all()
    return _available(connection, list(ids))


def _available(connection: Connection, ids: list[str]) -> list[Person]:
    if not ids:
        return []
    absent = select(staff_absences.c.staff_id)
    rows = connection.execute(select(staff.c.id, staff.c.email).where(
        staff.c.id.in_(ids), staff.c.enabled.is_(True), staff.c.id.not_in(absent))).all()
    found = {row.id: Person(row.id, row.email) for row in rows}
    return [found[i] for i in ids if i in found]


def set_absent(connection: Connection, staff_id: str, absent: bool, *, by: str | None, now: object) -> None:
    """Mark someone absent (skipped by routing) or back."""
    connection.execute(staff_absences.delete().where(staff_absences.c.staff_id == staff_id))
    if absent:
        connection.execute(staff_absences.insert().values(staff_id=staff_id, since=now, set_by=by))


def set_rota(connection: Connection, service_id: str, staff_ids: Sequence[str]) -> None:
    """Replace a service's duty rota with these people, in this order."""
    connection.execute(duty_rota.delete().where(duty_rota.c.service_id == service_id))
    if staff_ids:
        connection.execute(duty_rota.insert(), [
            {"service_id": service_id, "position": n, "staff_id": staff_id} for n, staff_id in enumerate(staff_ids)])
