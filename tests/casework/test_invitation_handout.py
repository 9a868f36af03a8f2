"""An invitation's short code shown once to the caseworker, and the printed handout in the service's languages."""

from __future__ import annotations

import re
import shutil

import pytest
from sqlalchemy import select, update

from casefeedback import create_app
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events, cases, invitations
from tests.alerts.test_rules import EVERY_KIND
from tests.conftest import POLICIES, AuthActions, StaffFactory, csrf_token, make_config
from tests.helpers import ServiceUser, location
from tests.intake.test_language import english_left_over

LINK = re.compile(r'id="invitation-link" class="invitation-link">([^<]+)<')
SHORT_CODE = re.compile(r'id="invitation-short-code" class="receipt-code short-code">([^<]+)<')


def open_case(client, found, service: str = "victim-support") -> str:
    page = client.get("/casework/").get_data(as_text=True)
    client.post("/casework/", data={"service": service, "reference": "VS-9", "csrf_token": csrf_token(page)})
    with read(found.engine) as connection:
        return str(connection.execute(select(cases.c.id)).scalar_one())


@pytest.fixture
def case_id(client, found, staff_factory, auth) -> str:
    """A signed-in caseworker's open case."""
    _, username, password = staff_factory("caseworker")
    auth.sign_in(username, password)
    return open_case(client, found)


def create(client, case_id: str):
    page = client.get(f"/casework/cases/{case_id}/invitations").get_data(as_text=True)
    response = client.post(f"/casework/cases/{case_id}/invitations",
                           data={"uses": "1", "days": "14", "csrf_token": csrf_token(page)})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    return body, LINK.search(body).group(1), SHORT_CODE.search(body).group(1)


def print_page(client, case_id: str, page: str, token: str, short_code: str | None):
    data = {"token": token, "csrf_token": csrf_token(page)}
    if short_code is not None:
        data["short_code"] = short_code
    return client.post(f"/casework/cases/{case_id}/invitations/print", data=data)


def test_the_created_page_shows_the_short_code_once_and_where_to_type_it(client, found, case_id):
    page, link, short_code = create(client, case_id)
    assert re.fullmatch(r"[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{2}", short_code)
    assert "http://localhost/feedback/code" in page
    # Posted back in the print and download forms only, never in a URL.
    assert page.count(f'value="{short_code}"') == 3
    assert not re.search(r'(href|action|src)="[^"]*' + re.escape(short_code), page)
    assert short_code not in client.get(f"/casework/cases/{case_id}/invitations").get_data(as_text=True)
    with read(found.engine) as connection:
        event = connection.execute(select(audit_events).where(audit_events.c.action == "invitation.create")).one()
    assert short_code not in event.detail and short_code.replace("-", "") not in event.detail
    # The person types it and lands where the link would take them.
    person = client.application.test_client()
    form = person.get("/feedback/code", follow_redirects=True).get_data(as_text=True)
    typed = person.post("/feedback/code/enter", data={"code": short_code.lower(), "csrf_token": csrf_token(form)})
    assert typed.status_code == 303 and location(typed) == "/feedback/victim-support"
    assert person.get(link.replace("http://localhost", "")).status_code == 303


def test_the_handout_is_in_english_and_welsh_with_the_short_code_and_no_names(client, case_id):
    page, link, short_code = create(client, case_id)
    response = print_page(client, case_id, page, link.rsplit("/", 1)[1], short_code)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<title>Feedback</title>" in body
    english = body.split('<section class="handout-language" lang="en">')[1].split("</section>")[0]
    welsh = body.split('<section class="handout-language" lang="cy">')[1].split("</section>")[0]
    assert body.index('lang="en"') < body.index('lang="cy"')  # the policy's order: languages = ["en", "cy"]
    for part in (english, welsh):
        assert short_code in part and link in part and "http://localhost/feedback/code" in part and "999" in part
    assert "Tell us how you were treated" in english and "point it at the square code" in english
    assert "16 November 2026" in english
    assert "Dywedwch wrthon ni sut cawsoch chi eich trin" in welsh and "16 Tachwedd 2026" in welsh
    assert "Tell us how" not in welsh and "November" not in welsh and english_left_over(welsh) == []
    assert body.count("<img ") == 1  # one QR code for both
    assert "VS-9" not in body and "Victim support" not in body and "Cymorth i ddioddefwyr" not in body


def test_the_handout_prints_only_this_invitations_short_code(client, case_id):
    page, link, short_code = create(client, case_id)
    token = link.rsplit("/", 1)[1]
    other = "K7QM-4TXR-9P" if short_code != "K7QM-4TXR-9P" else "ABCD-EFGH-JK"
    assert print_page(client, case_id, page, token, other).status_code == 404
    assert print_page(client, case_id, page, token, "not a code").status_code == 404
    typed = print_page(client, case_id, page, token, short_code.lower().replace("-", ""))
    assert typed.status_code == 200 and short_code in typed.get_data(as_text=True)  # shown as printed


def test_an_invitation_from_before_short_codes_prints_without_one(client, found, case_id):
    page, link, short_code = create(client, case_id)
    with write(found.engine) as connection:
        connection.execute(update(invitations).values(short_code_hash=None))
    token = link.rsplit("/", 1)[1]
    assert print_page(client, case_id, page, token, short_code).status_code == 404  # not this invitation's now
    response = print_page(client, case_id, page, token, None)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and link in body
    assert short_code not in body and "/feedback/code" not in body and "type the code" not in body


def test_an_english_only_service_prints_an_english_only_handout(tmp_path, clock):
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "kinds.toml").write_bytes(EVERY_KIND)
    shutil.copy(POLICIES / "organisation.toml", policies / "organisation.toml")
    app = create_app(make_config(tmp_path / "instance", policies_dir=policies), clock=clock)
    try:
        found = app.extensions["casefeedback"]
        client = app.test_client()
        _, username, password = StaffFactory(found)("caseworker")
        AuthActions(client).sign_in(username, password)
        case_id = open_case(client, found, "kinds")
        page, link, short_code = create(client, case_id)
        body = print_page(client, case_id, page, link.rsplit("/", 1)[1], short_code).get_data(as_text=True)
        assert 'lang="en"' in body and 'lang="cy"' not in body and short_code in body
    finally:
        app.extensions["casefeedback"].engine.dispose()


def test_feedback_given_through_the_short_code_reaches_the_case(app, client, found, case_id):
    _, _, short_code = create(client, case_id)
    person = app.test_client()
    form = person.get("/feedback/code", follow_redirects=True).get_data(as_text=True)
    person.post("/feedback/code/enter", data={"code": short_code.replace("-", " "), "csrf_token": csrf_token(form)})
    ServiceUser(person).give_feedback({"treated": "5"})
    with read(found.engine) as connection:
        assert connection.execute(select(invitations.c.uses_left)).scalar_one() == 0
    again = app.test_client()
    form = again.get("/feedback/code", follow_redirects=True).get_data(as_text=True)
    refused = again.post("/feedback/code/enter", data={"code": short_code, "csrf_token": csrf_token(form)})
    assert refused.status_code == 404  # one use: used up, like its link


def test_the_list_says_which_invitations_have_no_short_code(client, found, case_id):
    create(client, case_id)
    listing = client.get(f"/casework/cases/{case_id}/invitations").get_data(as_text=True)
    assert "made before short codes" not in listing
    with write(found.engine) as connection:
        connection.execute(update(invitations).values(short_code_hash=None))
    listing = client.get(f"/casework/cases/{case_id}/invitations").get_data(as_text=True)
    assert "Link and QR code only: made before short codes" in listing
