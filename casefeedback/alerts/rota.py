"""The dated duty rota and absences: who is on duty now and next, set by supervisors and duty managers, audited.

Times are typed and shown in the organisation's time zone (``[working_hours]
time_zone``) and stored in UTC, so "08:00" means eight in the morning in
summer and winter alike. Shifts declared in ``organisation.toml`` are shown
beside the ones set here and count the same, but change only with the policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, or_, select

from casefeedback.alerts.routing import add_absence, add_shift
from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth.sessions import StaffMember
from casefeedback.policy.model import OrganisationPolicy
from casefeedback.policy.roles import CONTENT_ROLES
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import duty_shifts, staff, staff_absences

# A form filled in at 08:59 for a shift "from 09:00" is sent at 09:00:30; anything
# earlier than this is a mistake (a wrong year or day), not a slow form.
PAST_ALLOWANCE = timedelta(minutes=1)
# Longer than any real shift or absence: a typo in the year, not a plan.
LONGEST = timedelta(days=366)
NEXT_SHOWN = 5  # upcoming shifts listed per service


class RotaError(Exception):
    """The change cannot be made; each (field, message) says why, kindly."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(message for _field, message in errors))
        self.errors = errors


@dataclass(frozen=True)
class Shift:
    id: str | None  # None: declared in the policy, so not removable here
    service_id: str
    username: str
    name: str
    starts_at: datetime
    ends_at: datetime | None
    absent: bool  # away during (part of) the shift: skipped while away


@dataclass(frozen=True)
class ServiceRota:
    service_id: str
    name: str
    now: list[Shift]
    next: list[Shift]


@dataclass(frozen=True)
class Absence:
    id: str
    username: str
    name: str
    starts_at: datetime
    ends_at: datetime | None
    current: bool


@dataclass(frozen=True)
class RotaBoard:
    services: list[ServiceRota]
    absences: list[Absence]
    people: list[tuple[str, str]]  # (staff id, "Name (username)") of everyone who may be on the rota
    unknown: list[str]  # usernames the policy puts on the rota who cannot be (no such person, or wrong role)
    time_zone: str


def zone_of(organisation: OrganisationPolicy) -> tzinfo:
    """The organisation's time zone; UTC if this machine has no time zone database (never a guess)."""
    try:
        return ZoneInfo(organisation.working_hours.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def board(found: Services) -> RotaBoard:
    """The rota in force now and next for every service, the absences current and coming, who may be on it."""
    now, organisation = found.clock(), found.policies.organisation
    with read(found.engine) as connection:
        people = connection.execute(select(staff.c.id, staff.c.username, staff.c.display_name).where(
            staff.c.role.in_(sorted(CONTENT_ROLES)), staff.c.enabled.is_(True)).order_by(staff.c.display_name)).all()
        names = {p.username: (p.id, p.display_name) for p in people}
        away = connection.execute(
            select(staff_absences, staff.c.username, staff.c.display_name)
            .join(staff, staff.c.id == staff_absences.c.staff_id)
            .where(or_(staff_absences.c.ends_at.is_(None), staff_absences.c.ends_at > now))
            .order_by(staff_absences.c.starts_at)).all()
        shifts = _shifts(connection, now)
    for declared in organisation.rota:
        if declared.ends_at > now and declared.username in names:
            shifts.append(Shift(None, declared.service_id, declared.username, names[declared.username][1],
                                declared.starts_at, declared.ends_at, False))
    absences = [Absence(a.id, a.username, a.display_name, a.starts_at, a.ends_at, a.starts_at <= now) for a in away]
    marked = [_mark(shift, absences) for shift in sorted(shifts, key=lambda s: (s.starts_at, s.username))]
    services = []
    for service_id, policy in sorted(found.policies.services.items()):
        mine = [s for s in marked if s.service_id == service_id]
        services.append(ServiceRota(service_id, policy.name.get("en", service_id),
                                    [s for s in mine if s.starts_at <= now],
                                    [s for s in mine if s.starts_at > now][:NEXT_SHOWN]))
    unknown = sorted({d.username for d in organisation.rota if d.username not in names and d.ends_at > now})
    return RotaBoard(services, absences, [(p.id, f"{p.display_name} ({p.username})") for p in people], unknown,
                     organisation.working_hours.time_zone)


def _shifts(connection: Connection, now: datetime) -> list[Shift]:
    rows = connection.execute(
        select(duty_shifts, staff.c.username, staff.c.display_name)
        .join(staff, staff.c.id == duty_shifts.c.staff_id)
        .where(or_(duty_shifts.c.ends_at.is_(None), duty_shifts.c.ends_at > now))).all()
    return [Shift(r.id, r.service_id, r.username, r.display_name, r.starts_at, r.ends_at, False) for r in rows]


def _mark(shift: Shift, absences: list[Absence]) -> Shift:
    """The shift, marked absent if its person is away at any time during it."""
    far = datetime.max.replace(tzinfo=UTC)
    away = any(a.username == shift.username and a.starts_at < (shift.ends_at or far) and shift.starts_at
               < (a.ends_at or far) for a in absences)
    return Shift(shift.id, shift.service_id, shift.username, shift.name, shift.starts_at, shift.ends_at, away)


def _person(connection: Connection, staff_id: str, field: str, errors: list[tuple[str, str]]) -> str | None:
    row = connection.execute(select(staff.c.id, staff.c.role, staff.c.enabled).where(staff.c.id == staff_id)).first()
    if row is None or row.role not in CONTENT_ROLES or not row.enabled:
        errors.append((field, "Choose a caseworker, supervisor or duty manager from the list."))
        return None
    return str(row.id)


def _span(found: Services, starts: datetime | None, ends: datetime | None, *, may_start_earlier: bool,
          prefix: str = "") -> tuple[datetime, datetime | None, list[tuple[str, str]]]:
    """Local times typed in the form → UTC, with what is wrong with them."""
    zone, now, errors = zone_of(found.policies.organisation), found.clock(), []
    if starts is None:
        errors.append((f"{prefix}starts", "Enter when it starts."))
        starts = now.astimezone(zone).replace(tzinfo=None)
    start = starts.replace(tzinfo=zone).astimezone(UTC)
    end = ends.replace(tzinfo=zone).astimezone(UTC) if ends is not None else None
    if not may_start_earlier and start < now - PAST_ALLOWANCE:
        errors.append((f"{prefix}starts", "The start must be now or later, not in the past."))
    if end is not None and end <= start:
        errors.append((f"{prefix}ends", "The end must be after the start."))
    elif end is not None and end < now - PAST_ALLOWANCE:
        errors.append((f"{prefix}ends", "The end must be now or later, not in the past."))
    elif end is not None and end - start > LONGEST:
        errors.append((f"{prefix}ends", "The end must be within a year of the start. Check the year."))
    return start, end, errors


def add_duty(found: Services, member: StaffMember, *, service_id: str, staff_id: str, starts: datetime | None,
             ends: datetime | None) -> None:
    """Put someone on duty for a service from ``starts`` to ``ends`` (local times, as typed)."""
    errors: list[tuple[str, str]] = []
    if service_id not in found.policies.services:
        errors.append(("service", "Choose one of the services."))
    if ends is None:
        errors.append(("ends", "Enter when the shift ends."))
    start, end, wrong = _span(found, starts, ends, may_start_earlier=False)
    errors.extend(wrong)
    with write(found.engine) as connection:
        person = _person(connection, staff_id, "person", errors)
        if errors or person is None:
            raise RotaError(errors)
        shift_id = add_shift(connection, service_id=service_id, staff_id=person, starts_at=start, ends_at=end,
                             set_by=member.id, now=found.clock())
        found.audit.append(connection, AuditEvent(
            action=Action.ALERT_ROTA_SET, outcome="shift_added", actor_id=member.id, actor_role=member.role,
            object_type="service", object_id=service_id,
            detail={"shift": shift_id, "staff": person, "from": start.isoformat(),
                    "to": end.isoformat() if end else ""}))


def remove_duty(found: Services, member: StaffMember, shift_id: str) -> None:
    """Take a shift off the rota (one set on this screen; a declared one changes only with the policy)."""
    with write(found.engine) as connection:
        row = connection.execute(select(duty_shifts).where(duty_shifts.c.id == shift_id)).first()
        if row is None:
            raise RotaError([("shift", "That shift is no longer on the rota.")])
        connection.execute(duty_shifts.delete().where(duty_shifts.c.id == shift_id))
        found.audit.append(connection, AuditEvent(
            action=Action.ALERT_ROTA_SET, outcome="shift_removed", actor_id=member.id, actor_role=member.role,
            object_type="service", object_id=row.service_id,
            detail={"shift": shift_id, "staff": row.staff_id, "from": row.starts_at.isoformat(),
                    "to": row.ends_at.isoformat() if row.ends_at else ""}))


def record_absence(found: Services, member: StaffMember, *, staff_id: str, starts: datetime | None,
                   ends: datetime | None) -> None:
    """Record someone away from ``starts`` to ``ends`` (None: until the absence is removed)."""
    start, end, errors = _span(found, starts, ends, may_start_earlier=True, prefix="absence-")
    with write(found.engine) as connection:
        person = _person(connection, staff_id, "absence-person", errors)
        if errors or person is None:
            raise RotaError(errors)
        absence_id = add_absence(connection, staff_id=person, starts_at=start, ends_at=end, set_by=member.id,
                                 now=found.clock())
        found.audit.append(connection, AuditEvent(
            action=Action.STAFF_ABSENCE, outcome="absent", actor_id=member.id, actor_role=member.role,
            object_type="staff", object_id=person,
            detail={"absence": absence_id, "from": start.isoformat(), "to": end.isoformat() if end else ""}))


def remove_absence(found: Services, member: StaffMember, absence_id: str) -> None:
    """Remove an absence (back at work, or plans changed): alerts reach the person again at once."""
    with write(found.engine) as connection:
        row = connection.execute(select(staff_absences).where(staff_absences.c.id == absence_id)).first()
        if row is None:
            raise RotaError([("absence", "That absence has already been removed.")])
        connection.execute(staff_absences.delete().where(staff_absences.c.id == absence_id))
        found.audit.append(connection, AuditEvent(
            action=Action.STAFF_ABSENCE, outcome="back", actor_id=member.id, actor_role=member.role,
            object_type="staff", object_id=row.staff_id, detail={"absence": absence_id}))

