"""Staffing: who works here, in which team, holding which cases — changed by an administrator or the command line.

Each change is one write transaction that appends its audit event, whoever
makes it: the administrator's screens and ``casefeedback staff`` call the same
functions, so an account added or disabled either way leaves the same trace.
What they read is names, roles, teams and counts only — never a case reference
or a word of content (separation of duties).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import update as sql_update

from casefeedback.admin.addresses import email_address, tell_old_address
from casefeedback.alerts.sms import mobile_number
from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth import accounts
from casefeedback.auth.accounts import AccountError, StaffListing, Team
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework import cases
from casefeedback.policy.roles import CASE_HOLDER_ROLES
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import staff


class NoSuchAccount(AccountError):
    """No staff account has that id."""


@dataclass(frozen=True)
class Operator:
    """Who makes a change: a signed-in administrator, or the command line (no id, actor role "cli")."""

    id: str | None
    role: str

    @classmethod
    def of(cls, member: StaffMember) -> Operator:
        return cls(member.id, member.role)


COMMAND_LINE = Operator(None, "cli")


@dataclass(frozen=True)
class Overview:
    people: list[StaffListing]
    teams: list[Team]
    open_cases: Mapping[str, int]  # staff id -> open cases they own


@dataclass(frozen=True)
class Person:
    """One account as its page shows it, with who could take over its cases."""

    listing: StaffListing
    teams: list[Team]
    everyone: list[StaffListing]
    colleagues: list[StaffListing]  # active case holders other than this person
    open_cases: int
    email: str | None  # where their alerts go; None: the in-app inbox only


def _audit(found: Services, connection: Connection, by: Operator, action: Action, staff_id: str | None = None,
           **detail: str | int | bool | None) -> None:
    found.audit.append(connection, AuditEvent(
        action=action, outcome="success", actor_id=by.id, actor_role=by.role,
        object_type="staff" if staff_id else None, object_id=staff_id, detail=detail))


def _existing(connection: Connection, staff_id: str) -> Any:
    person = accounts.find_by_id(connection, staff_id)
    if person is None:
        raise NoSuchAccount("There is no such staff account.")
    return person


# --- reading -------------------------------------------------------------------------------------


def overview(found: Services) -> Overview:
    with read(found.engine) as connection:
        return Overview(accounts.list_staff(connection), accounts.list_teams(connection),
                        cases.case_counts_by_owner(connection))


def people(found: Services) -> list[StaffListing]:
    with read(found.engine) as connection:
        return accounts.list_staff(connection)


def teams(found: Services) -> list[Team]:
    with read(found.engine) as connection:
        return accounts.list_teams(connection)


def person(found: Services, staff_id: str) -> Person:
    with read(found.engine) as connection:
        row = _existing(connection, staff_id)
        everyone = accounts.list_staff(connection)
        listing = next(p for p in everyone if p.id == staff_id)
        colleagues = [p for p in everyone if p.enabled and p.role in CASE_HOLDER_ROLES and p.id != staff_id]
        return Person(listing, accounts.list_teams(connection), everyone, colleagues,
                      cases.case_counts_by_owner(connection).get(staff_id, 0), row.email)


def account_id(found: Services, username: str) -> str | None:
    with read(found.engine) as connection:
        row = accounts.find_by_username(connection, username)
    return None if row is None else str(row.id)


# --- changing ------------------------------------------------------------------------------------


def add_team(found: Services, by: Operator, name: str) -> str:
    with write(found.engine) as connection:
        team_id = accounts.add_team(connection, name)
        _audit(found, connection, by, Action.TEAM_ADD, team=team_id)
    return team_id


def add_staff(found: Services, by: Operator, *, username: str, display_name: str, role: str, password: str,
              team_id: str | None = None, team_name: str | None = None, email: str | None = None) -> str:
    """A new account; it sets up its second factor at its first sign-in. ``team_name``: a team, created if new.

    ``email``: where its alerts go (BadEmail if not a plain address); never in the audit detail.
    """
    address = email_address(email) if email else None
    with write(found.engine) as connection:
        if team_name:
            team_id = accounts.ensure_team(connection, team_name)
        staff_id = accounts.add_staff(connection, username=username, display_name=display_name, role=role,
                                      password=password, now=found.clock(), team_id=team_id, email=address)
        if address:
            _audit(found, connection, by, Action.STAFF_ADD, staff_id, role=role, email="added")
        else:
            _audit(found, connection, by, Action.STAFF_ADD, staff_id, role=role)
    return staff_id


def update(found: Services, by: Operator, staff_id: str, *, role: str, team_id: str | None) -> None:
    """A new role and team, from the person's next request (roles are read on every request)."""
    with write(found.engine) as connection:
        person = _existing(connection, staff_id)
        accounts.set_role(connection, staff_id, role)
        accounts.set_team(connection, staff_id, team_id)
        _audit(found, connection, by, Action.STAFF_UPDATE, staff_id, role=role, previous_role=person.role,
               team=team_id, previous_team=person.team_id)


def set_email(found: Services, by: Operator, staff_id: str, email: str | None) -> str | None:
    """Set (or, with None, clear) where a person's alerts go; returns what changed: "added", "changed", "removed".

    None when nothing changed. BadEmail if not a plain address. The old address,
    if there was one, is told once the change is saved (see ``addresses``).
    """
    address = email_address(email) if email else None
    with write(found.engine) as connection:
        old = _existing(connection, staff_id).email
        if old == address:
            return None
        change = "added" if old is None else ("removed" if address is None else "changed")
        connection.execute(sql_update(staff).where(staff.c.id == staff_id).values(email=address))
        _audit(found, connection, by, Action.STAFF_UPDATE, staff_id, email=change)
    if old is not None:
        # After the commit: an SMTP round trip must not hold the write lock, and a
        # notice that cannot be sent must not undo the change (it is logged).
        tell_old_address(found.config, old, found.clock())
    return change


def set_mobile(found: Services, by: Operator, staff_id: str, mobile: str | None) -> str | None:
    """Set (or, with None, clear) the mobile their alert texts go to; returns "added", "changed", "removed",
    or None when nothing changed. BadMobile if not a UK mobile. Never in the audit detail or a log line."""
    number = mobile_number(mobile) if mobile else None
    with write(found.engine) as connection:
        old = _existing(connection, staff_id).mobile
        if old == number:
            return None
        change = "added" if old is None else ("removed" if number is None else "changed")
        connection.execute(sql_update(staff).where(staff.c.id == staff_id).values(mobile=number))
        _audit(found, connection, by, Action.STAFF_UPDATE, staff_id, mobile=change)
    return change


def set_enabled(found: Services, by: Operator, staff_id: str, enabled: bool) -> None:
    """Disabling ends every session of the account at once."""
    with write(found.engine) as connection:
        _existing(connection, staff_id)
        if enabled:
            accounts.enable(connection, staff_id)
        else:
            accounts.disable(connection, staff_id)
        _audit(found, connection, by, Action.STAFF_ENABLE if enabled else Action.STAFF_DISABLE, staff_id)


def reset(found: Services, by: Operator, staff_id: str, *, password: str | None, second_factor: bool,
          enable: bool | None = None) -> str:
    """A new password and/or second factor (and, from the command line, enabling); every session ends.

    Returns the account's username, for telling the person.
    """
    with write(found.engine) as connection:
        person = _existing(connection, staff_id)
        accounts.reset(connection, staff_id, found.clock(), password=password, second_factor=second_factor)
        if enable:
            accounts.enable(connection, staff_id)
        detail: dict[str, str | int | bool | None] = {"password": password is not None,
                                                      "second_factor": second_factor}
        if enable is not None:
            detail["enabled"] = enable
        _audit(found, connection, by, Action.STAFF_RESET, staff_id, **detail)
    return str(person.username)


def move_cases(found: Services, by: Operator, staff_id: str, to: str) -> tuple[int, int]:
    """Hand a person's open cases to a colleague: (moved, left because in another team). CaseError if refused."""
    with write(found.engine) as connection:
        moved, left = cases.move_cases(connection, staff_id, to)
        _audit(found, connection, by, Action.CASES_MOVE, staff_id, to=to, moved=moved, left=left)
    return moved, left
