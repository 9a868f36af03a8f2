"""Shared set-up for the casework tests: people signed in as themselves, and cases with real feedback."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import create_case
from casefeedback.casework.invitations import create_invitation
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events, staff, submissions
from tests.conftest import AuthActions, StaffFactory, csrf_token
from tests.helpers import ServiceUser

_addresses = (f"198.51.100.{n}" for n in itertools.count(1))


@dataclass
class Person:
    """A staff member with their own browser (and own address, so per-address limits stay out of the way)."""

    id: str
    username: str
    password: str
    role: str
    client: FlaskClient

    @property
    def auth(self) -> AuthActions:
        return AuthActions(self.client)

    def get(self, path: str):  # type: ignore[no-untyped-def]
        return self.client.get(path)

    def form_post(self, page: str, path: str, data: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
        html = self.client.get(page).get_data(as_text=True)
        return self.client.post(path, data={**(data or {}), "csrf_token": csrf_token(html)})


def person(app: Flask, role: str = "caseworker", team: str | None = "North", *, sign_in: bool = True) -> Person:
    found: Services = app.extensions["casefeedback"]
    staff_id, username, password = StaffFactory(found)(role, team=team)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = next(_addresses)
    someone = Person(staff_id, username, password, role, client)
    if sign_in:
        assert someone.auth.sign_in(username, password).status_code == 302
    return someone


def new_case(found: Services, owner: Person, reference: str = "C-1") -> str:
    with write(found.engine) as connection:
        row = connection.execute(select(staff).where(staff.c.id == owner.id)).one()
        member = StaffMember(row.id, row.username, row.display_name, row.role, row.team_id)
        return create_case(connection, member=member, service_id="victim-support", reference=reference,
                           now=found.clock())


def feedback(app: Flask, found: Services, case_id: str, owner_id: str, answers: dict[str, str | list[str]]) -> str:
    """A person gives feedback through an invitation to the case; return the submission id."""
    with write(found.engine) as connection:
        token = create_invitation(connection, found.config.secrets.lookup.value, case_id=case_id,
                                  created_by=owner_id, now=found.clock())
        before = set(connection.execute(select(submissions.c.id)).scalars())
    giver = app.test_client()
    giver.get(f"/feedback/i/{token}")
    ServiceUser(giver).give_feedback(answers)
    with read(found.engine) as connection:
        (submission_id,) = set(connection.execute(select(submissions.c.id)).scalars()) - before
    return str(submission_id)


def events(found: Services, action: str) -> list:  # type: ignore[type-arg]
    with read(found.engine) as connection:
        return list(connection.execute(select(audit_events).where(audit_events.c.action == action)
                                       .order_by(audit_events.c.seq)).all())
