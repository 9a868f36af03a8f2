"""Staff accounts and teams, and a signed-in person's change of their own password."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth import mfa, throttle
from casefeedback.auth.passwords import hash_password, password_problem, verify_password
from casefeedback.auth.sessions import StaffMember, end_all_sessions, start_session
from casefeedback.policy.roles import ROLES
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.tables import staff, staff_mfa, teams

_USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,63}")


class AccountError(Exception):
    """A staff account request cannot be carried out; the message says why."""


@dataclass(frozen=True)
class StaffListing:
    id: str
    username: str
    display_name: str
    role: str
    team_id: str | None
    team_name: str | None
    enabled: bool
    mfa_enrolled: bool


@dataclass(frozen=True)
class Team:
    id: str
    name: str


def ensure_team(connection: Connection, name: str) -> str:
    found = connection.execute(select(teams.c.id).where(teams.c.name == name)).scalar()
    if found:
        return str(found)
    team_id = str(uuid.uuid4())
    connection.execute(insert(teams).values(id=team_id, name=name))
    return team_id


def add_staff(connection: Connection, *, username: str, display_name: str, role: str, password: str,
              now: datetime, team_id: str | None = None, email: str | None = None) -> str:
    if role not in ROLES:
        raise AccountError(f"{role!r} is not a role; choose one of: {', '.join(ROLES)}")
    if not _USERNAME.fullmatch(username):
        raise AccountError("A username is 2 to 64 characters: lowercase letters, digits, '.', '_' or '-', "
                           "starting with a letter.")
    if not display_name.strip() or len(display_name) > 120:
        raise AccountError("Give the person's name, up to 120 characters.")
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    if find_by_username(connection, username) is not None:
        raise AccountError(f"there is already a staff account called {username!r}")
    staff_id = str(uuid.uuid4())
    connection.execute(insert(staff).values(
        id=staff_id, username=username, display_name=display_name, email=email, role=role, team_id=team_id,
        password_hash=hash_password(password), enabled=True, created_at=now, password_changed_at=now))
    return staff_id


def find_by_username(connection: Connection, username: str) -> Any:
    return connection.execute(select(staff).where(staff.c.username == username)).first()


def replace_password_hash(connection: Connection, staff_id: str, new_hash: str) -> None:
    """A rehash on sign-in: same password, better parameters, sessions untouched."""
    connection.execute(update(staff).where(staff.c.id == staff_id).values(password_hash=new_hash))


def set_password(connection: Connection, staff_id: str, password: str, now: datetime) -> None:
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    connection.execute(update(staff).where(staff.c.id == staff_id)
                       .values(password_hash=hash_password(password), password_changed_at=now))
    end_all_sessions(connection, staff_id)


def disable(connection: Connection, staff_id: str) -> None:
    connection.execute(update(staff).where(staff.c.id == staff_id).values(enabled=False))
    end_all_sessions(connection, staff_id)


def enable(connection: Connection, staff_id: str) -> None:
    connection.execute(update(staff).where(staff.c.id == staff_id).values(enabled=True))


def find_by_id(connection: Connection, staff_id: str) -> Any:
    return connection.execute(select(staff).where(staff.c.id == staff_id)).first()


def set_role(connection: Connection, staff_id: str, role: str) -> None:
    """Takes effect on the person's next request: roles are read from here on every request."""
    if role not in ROLES:
        raise AccountError(f"{role!r} is not a role; choose one of: {', '.join(ROLES)}")
    connection.execute(update(staff).where(staff.c.id == staff_id).values(role=role))


def set_team(connection: Connection, staff_id: str, team_id: str | None) -> None:
    if team_id is not None and connection.execute(select(teams.c.id).where(teams.c.id == team_id)).first() is None:
        raise AccountError("There is no such team.")
    connection.execute(update(staff).where(staff.c.id == staff_id).values(team_id=team_id))


def temporary_password() -> str:
    """A password for an administrator to pass on once; 128 random bits."""
    return secrets.token_urlsafe(16)


def reset(connection: Connection, staff_id: str, now: datetime, *, password: str | None,
          second_factor: bool) -> None:
    """A new password and/or a new second factor at the next sign-in. Every session ends."""
    if password is not None:
        set_password(connection, staff_id, password, now)
    if second_factor:
        mfa.forget(connection, staff_id)
    end_all_sessions(connection, staff_id)


def list_staff(connection: Connection) -> list[StaffListing]:
    rows = connection.execute(
        select(staff.c.id, staff.c.username, staff.c.display_name, staff.c.role, staff.c.team_id,
               teams.c.name.label("team_name"), staff.c.enabled, staff_mfa.c.enrolled_at)
        .outerjoin(teams, teams.c.id == staff.c.team_id)
        .outerjoin(staff_mfa, staff_mfa.c.staff_id == staff.c.id)
        .order_by(staff.c.username)).all()
    return [StaffListing(r.id, r.username, r.display_name, r.role, r.team_id, r.team_name, bool(r.enabled),
                         r.enrolled_at is not None) for r in rows]


def list_teams(connection: Connection) -> list[Team]:
    return [Team(r.id, r.name) for r in connection.execute(select(teams).order_by(teams.c.name)).all()]


def add_team(connection: Connection, name: str) -> str:
    name = name.strip()
    if not name or len(name) > 120:
        raise AccountError("Give the team a name, up to 120 characters.")
    if connection.execute(select(teams.c.id).where(teams.c.name == name)).first() is not None:
        raise AccountError(f"There is already a team called {name!r}.")
    return ensure_team(connection, name)


def change_password(found: Services, member: StaffMember, current: str, new: str) -> str | None:
    """Change one's own password, proven by the current one (a wrong one counts toward the lockout).

    Every session of the account ends; the new session's token is returned for
    this browser, or None when ``current`` was not right.
    """
    now = found.clock()
    with write(found.engine) as connection:
        row = find_by_id(connection, member.id)
        ok, _ = verify_password(row.password_hash, current)
        token = None
        if not ok:
            throttle.record_failure(connection, member.username, now)
        else:
            set_password(connection, member.id, new, now)  # ends every session
            token = start_session(connection, member.id, now)
        found.audit.append(connection, AuditEvent(action=Action.STAFF_PASSWORD_CHANGE,
                                                  outcome="success" if ok else "failure",
                                                  actor_id=member.id, actor_role=member.role))
    return token
