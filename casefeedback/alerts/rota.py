"""Setting the duty rota and marking people absent: by supervisors and duty managers, audited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from casefeedback.alerts.routing import set_absent, set_rota
from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth.sessions import StaffMember
from casefeedback.policy.roles import CONTENT_ROLES
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import duty_rota, staff, staff_absences


class RotaError(Exception):
    """The change cannot be made; the message says why, kindly."""


@dataclass(frozen=True)
class RotaView:
    service_id: str
    people: list[tuple[str, str, bool]]  # (username, display name, available now)


def rotas(found: Services) -> list[RotaView]:
    with read(found.engine) as connection:
        absent = set(connection.execute(select(staff_absences.c.staff_id)).scalars())
        views = []
        for service_id in sorted(found.policies.services):
            rows = connection.execute(
                select(staff.c.id, staff.c.username, staff.c.display_name, staff.c.enabled)
                .join(duty_rota, duty_rota.c.staff_id == staff.c.id)
                .where(duty_rota.c.service_id == service_id).order_by(duty_rota.c.position)).all()
            views.append(RotaView(service_id, [(r.username, r.display_name, r.enabled and r.id not in absent)
                                               for r in rows]))
        return views


def absentees(found: Services) -> list[str]:
    with read(found.engine) as connection:
        return list(connection.execute(select(staff.c.username).join(
            staff_absences, staff_absences.c.staff_id == staff.c.id).order_by(staff.c.username)).scalars())


def _staff_ids(connection: Connection, usernames: list[str]) -> list[str]:
    ids = []
    for username in usernames:
        row = connection.execute(select(staff.c.id, staff.c.role).where(staff.c.username == username)).first()
        if row is None or row.role not in CONTENT_ROLES:
            raise RotaError(f"There is no caseworker, supervisor or duty manager called {username!r}.")
        ids.append(row.id)
    return ids


def change_rota(found: Services, member: StaffMember, service_id: str, usernames: list[str]) -> None:
    if service_id not in found.policies.services:
        raise RotaError("Choose one of the services.")
    names = [name.strip() for name in usernames if name.strip()]
    if len(set(names)) != len(names):
        raise RotaError("Each person can be on the rota once.")
    with write(found.engine) as connection:
        ids = _staff_ids(connection, names)
        set_rota(connection, service_id, ids)
        found.audit.append(connection, AuditEvent(
            action=Action.ALERT_ROTA_SET, outcome="changed", actor_id=member.id, actor_role=member.role,
            object_type="service", object_id=service_id, detail={"people": ",".join(ids)}))


def change_absence(found: Services, member: StaffMember, username: str, absent: bool) -> None:
    with write(found.engine) as connection:
        (staff_id,) = _staff_ids(connection, [username.strip()])
        set_absent(connection, staff_id, absent, by=member.id, now=found.clock())
        found.audit.append(connection, AuditEvent(
            action=Action.STAFF_ABSENCE, outcome="absent" if absent else "back", actor_id=member.id,
            actor_role=member.role, object_type="staff", object_id=staff_id))
