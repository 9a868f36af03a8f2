"""An invitation sent by text (GOV.UK Notify, its stand-in on loopback) through the real form: the number is
kept nowhere, the text names no service or case, and Notify refusing leaves a clear message and a working link."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from casefeedback.config import Config
from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events, cases
from tests.casework.test_invitations import create, created_link
from tests.conftest import canary, csrf_token, make_config, notify_settings
from tests.notify import INVITATION_TEMPLATE, NotifyStandIn

NUMBER, TYPED = "+447700900123", "07700 900 123"


@pytest.fixture
def config(tmp_path: Path, notify: NotifyStandIn) -> Config:
    instance = tmp_path / "instance"
    return make_config(instance, **notify_settings(instance, notify))


@pytest.fixture
def invited(client, found, staff_factory, auth):
    """A signed-in caseworker's new invitation: (case id, creation page, link)."""
    _, username, password = staff_factory("caseworker")
    auth.sign_in(username, password)
    page = client.get("/casework/").get_data(as_text=True)
    reference = canary()  # the case reference must never reach the text
    client.post("/casework/", data={"service": "victim-support", "reference": reference,
                                    "csrf_token": csrf_token(page)})
    with read(found.engine) as connection:
        case_id = connection.execute(select(cases.c.id)).scalar_one()
    response = create(client, case_id)
    return case_id, response.get_data(as_text=True), created_link(response), reference


def send(client, case_id: str, page: str, mobile: str):
    form = dict(re.findall(r'name="(token|short_code|csrf_token)" type="hidden" value="([^"]*)"', page))
    return client.post(f"/casework/cases/{case_id}/invitations/text", data={**form, "mobile": mobile})


def database_bytes(found) -> bytes:
    path = found.config.database_path
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_the_link_and_short_code_go_by_text_and_the_number_is_kept_nowhere(client, found, invited, notify):
    case_id, page, link, reference = invited
    assert "Send it by text message" in page
    response = send(client, case_id, page, TYPED)
    shown = response.get_data(as_text=True)
    assert response.status_code == 200 and "Sent by text to the number ending …123" in shown
    (text,) = notify.texts_to(NUMBER)
    assert notify.sent[0].template_id == INVITATION_TEMPLATE
    code = re.search(r'id="invitation-short-code" class="receipt-code short-code">([^<]+)<', page).group(1)
    assert link in text and code in text and "This works until" in text
    assert "Mae hwn yn gweithio tan" in text  # Welsh too: the service offers it, like the handout
    assert reference not in text and "victim" not in text.lower()  # names no service or case
    assert notify.sent[0].reference.startswith("invitation-")
    with read(found.engine) as connection:
        event = connection.execute(select(audit_events).where(audit_events.c.action == "invitation.text")).one()
    assert event.outcome == "success"
    for digits in (NUMBER, "7700900123", "900 123", "900123"):
        assert digits not in (event.detail or "") and digits.encode() not in database_bytes(found)
        assert digits not in found.config.log_path.read_text()


@pytest.mark.parametrize("mobile", ["", "0207 946 0000", "+33 6 12 34 56 78", "07700 900 12<script>"])
def test_a_number_that_is_not_a_uk_mobile_is_refused_plainly(client, invited, notify, mobile):
    case_id, page, _link, _ = invited
    response = send(client, case_id, page, mobile)
    shown = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter their mobile number" in shown or "Enter a UK mobile number" in shown
    assert "<script>" not in shown and not notify.sent


@pytest.mark.parametrize(("status", "words"), [(400, "notify refused the message (400)"),
                                               (403, "notify refused the API key (403)"),
                                               (429, "notify rate limit (429)"), (500, "notify http 500")])
def test_notify_refusing_says_so_and_the_invitation_still_works(app, client, found, invited, notify, status, words):
    case_id, page, link, _ = invited
    notify.fail_next = [status]
    response = send(client, case_id, page, TYPED)
    shown = response.get_data(as_text=True)
    assert response.status_code == 503 and "The text was not sent" in shown and words in shown
    assert "Traceback" not in shown and link in shown  # still on the page, to give another way
    with read(found.engine) as connection:
        event = connection.execute(select(audit_events).where(audit_events.c.action == "invitation.text")).one()
    assert event.outcome == "failure"
    assert send(client, case_id, page, TYPED).status_code == 200  # tried again: sent
    assert app.test_client().get(link.replace("http://localhost", "")).status_code == 303  # usable (else 410)


def test_a_token_that_is_not_this_cases_invitation_sends_nothing(client, invited, notify):
    case_id, page, _link, _ = invited
    forged = re.sub(r'(name="token" type="hidden" value=")[^"]*', r"\1nope", page)
    assert send(client, case_id, forged, TYPED).status_code == 404
    assert not notify.sent
