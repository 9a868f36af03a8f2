"""Staff accounts and teams."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from casefeedback.auth.passwords import hash_password, password_problem
from casefeedback.auth.sessions import end_all_sessions
from casefeedback.storage.tables import staff, teams

ROLES: tuple[str, ...] = ("caseworker", "supervisor", "duty_manager", "auditor", "analyst", "administrator")


class AccountError(Exception):
    """A staff account request cannot be carried out; the message says why."""


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
