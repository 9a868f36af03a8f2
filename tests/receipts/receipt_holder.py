"""Page-object helpers: a person using their receipt code, through the same forms a browser posts."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from casefeedback.auth import accounts
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import create_case
from casefeedback.casework.invitations import create_invitation
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import submissions
from tests.conftest import csrf_token
from tests.helpers import ServiceUser

BASE = "/feedback/receipt"


class ReceiptHolder:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def check(self, code: str, **kwargs: Any) -> Any:
        page = self.client.get(f"{BASE}/", follow_redirects=True).get_data(as_text=True)  # a door, then the form
        return self.client.post(f"{BASE}/check", data={"code": code, "csrf_token": csrf_token(page)}, **kwargs)

    def overview(self) -> Any:
        return self.client.get(f"{BASE}/yours")

    def add(self, texts: dict[str, str], **extra: str) -> Any:
        page = self.client.get(f"{BASE}/yours/add").get_data(as_text=True)
        return self.post_add(texts, csrf_token(page), **extra)

    def post_add(self, texts: dict[str, str], token: str, **extra: str) -> Any:
        data = {f"q_{k}": v for k, v in texts.items()} | extra | {"csrf_token": token}
        return self.client.post(f"{BASE}/yours/add", data=data)

    def contact(self, value: str) -> Any:
        page = self.client.get(f"{BASE}/yours/contact").get_data(as_text=True)
        return self.client.post(f"{BASE}/yours/contact", data={"contact_me": value, "csrf_token": csrf_token(page)})

    def withdraw(self) -> Any:
        page = self.client.get(f"{BASE}/yours/withdraw").get_data(as_text=True)
        return self.client.post(f"{BASE}/yours/withdraw", data={"csrf_token": csrf_token(page)})


def give(client: FlaskClient, answers: dict[str, str | list[str]],
         choices: tuple[str, ...] = ("store",)) -> tuple[str, str]:
    """Give feedback as a person would; return (receipt code, submission id)."""
    found = client.application.extensions["casefeedback"]
    with read(found.engine) as connection:
        before = set(connection.execute(select(submissions.c.id)).scalars())
    code = ServiceUser(client).give_feedback(answers, choices)
    with read(found.engine) as connection:
        (submission_id,) = set(connection.execute(select(submissions.c.id)).scalars()) - before
    return code, submission_id


def invited_case(found: Any, owner_id: str, reference: str = "R-1") -> tuple[str, str]:
    """A case owned by ``owner_id`` and a token for it; returns (case id, token)."""
    with write(found.engine) as connection:
        team_id = accounts.ensure_team(connection, "North")
        member = StaffMember(owner_id, "o", "O", "caseworker", team_id)
        case_id = create_case(connection, member=member, service_id="victim-support", reference=reference,
                              now=found.clock())
        token = create_invitation(connection, found.config.secrets.lookup.value, case_id=case_id,
                                  created_by=owner_id, now=found.clock(), uses=5)
    return case_id, token
