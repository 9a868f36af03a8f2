"""Set-up for the reply tests: feedback given on a case (keeping the person's browser and receipt code),
and a member of staff writing a reply through the form on the feedback's page."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casefeedback.casework.invitations import create_invitation
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import submissions
from tests.casework.support import Person
from tests.conftest import csrf_token
from tests.helpers import ServiceUser

NONCE = re.compile(r'name="nonce" type="hidden" value="([^"]+)"')


@dataclass
class Given:
    code: str
    submission_id: str
    browser: FlaskClient  # the person's own browser


def give_on_case(app: Flask, found: Services, case_id: str, owner_id: str, answers: dict[str, str | list[str]],
                 choices: tuple[str, ...] = ("store",)) -> Given:
    with write(found.engine) as connection:
        token = create_invitation(connection, found.config.secrets.lookup.value, case_id=case_id,
                                  created_by=owner_id, now=found.clock())
        before = set(connection.execute(select(submissions.c.id)).scalars())
    browser = app.test_client()
    browser.get(f"/feedback/i/{token}")
    code = ServiceUser(browser).give_feedback(answers, choices)
    with read(found.engine) as connection:
        (submission_id,) = set(connection.execute(select(submissions.c.id)).scalars()) - before
    return Given(code, str(submission_id), browser)


def nonce_in(html: str) -> str:
    match = NONCE.search(html)
    assert match, "no nonce in the reply form"
    return match.group(1)


def write_reply(who: Person, submission_id: str, text: str, language: str = "en",
                nonce: str | None = None):  # type: ignore[no-untyped-def]
    """Post the reply form as the member's browser would; the page is fetched for its token and nonce.

    Someone the page is not shown to posts with a token from their own account page and a fresh nonce."""
    page = who.get(f"/casework/submissions/{submission_id}").get_data(as_text=True)
    if 'name="nonce"' not in page:
        page = who.get("/staff/account").get_data(as_text=True)
    if nonce is None:
        nonce = nonce_in(page) if 'name="nonce"' in page else secrets.token_hex(16)
    return who.client.post(f"/casework/submissions/{submission_id}/replies", data={
        "text": text, "language": language, "nonce": nonce, "csrf_token": csrf_token(page)})
