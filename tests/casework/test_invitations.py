"""Invitations: a link and a QR code shown once, chosen uses and lifetime, printable, revocable."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from casefeedback.casework.invitations import qr_images
from casefeedback.codes import lookup_hash
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events, cases, invitations
from tests.conftest import csrf_token
from tests.helpers import ServiceUser

LINK = re.compile(r'id="invitation-link" class="invitation-link">([^<]+)<')


@pytest.fixture
def caseworker(client, found, staff_factory, auth):
    """A signed-in caseworker with one open case; returns (staff id, case id)."""
    staff_id, username, password = staff_factory("caseworker")
    auth.sign_in(username, password)
    page = client.get("/casework/").get_data(as_text=True)
    client.post("/casework/", data={"service": "victim-support", "reference": "VS-7", "csrf_token": csrf_token(page)})
    with read(found.engine) as connection:
        case_id = connection.execute(select(cases.c.id)).scalar_one()
    return staff_id, case_id


def create(client, case_id: str, **fields: str):
    page = client.get(f"/casework/cases/{case_id}/invitations").get_data(as_text=True)
    return client.post(f"/casework/cases/{case_id}/invitations", data={**fields, "csrf_token": csrf_token(page)})


def created_link(response) -> str:
    match = LINK.search(response.get_data(as_text=True))
    assert match, "no link on the page"
    return match.group(1)


def test_the_case_page_leads_to_invitations(client, caseworker):
    _, case_id = caseworker
    page = client.get(f"/casework/cases/{case_id}").get_data(as_text=True)
    assert f'href="/casework/cases/{case_id}/invitations"' in page


def test_an_invitation_defaults_to_one_use_for_28_days_and_stores_only_a_keyed_hash(client, found, caseworker):
    staff_id, case_id = caseworker
    response = create(client, case_id, uses="1", days="28")
    assert response.status_code == 200
    link = created_link(response)
    token = link.rsplit("/", 1)[1]
    with read(found.engine) as connection:
        row = connection.execute(select(invitations)).one()
        event = connection.execute(select(audit_events).where(audit_events.c.action == "invitation.create")).one()
    assert row.uses_left == 1 and row.expires_at == found.clock() + timedelta(days=28)
    assert row.token_hash == lookup_hash(found.config.secrets.lookup.value, "invitation", token)
    assert token not in "".join(str(v) for v in row)
    assert (event.actor_id, event.object_type, event.object_id) == (staff_id, "invitation", row.id)
    assert token not in event.detail and '"uses":1' in event.detail and '"days":28' in event.detail
    # The link is not shown again anywhere.
    assert token not in client.get(f"/casework/cases/{case_id}/invitations").get_data(as_text=True)
    assert token not in client.get(f"/casework/cases/{case_id}").get_data(as_text=True)


def test_a_post_without_choices_takes_the_defaults(client, found, caseworker):
    _, case_id = caseworker
    assert create(client, case_id).status_code == 200
    with read(found.engine) as connection:
        row = connection.execute(select(invitations)).one()
    assert row.uses_left == 1 and row.expires_at == found.clock() + timedelta(days=28)


def test_limited_uses_and_a_chosen_lifetime(app, client, found, caseworker, clock):
    _, case_id = caseworker
    link = created_link(create(client, case_id, uses="2", days="90")).replace("http://localhost", "")
    for _ in range(2):
        person = app.test_client()
        assert person.get(link).status_code == 303
        ServiceUser(person).give_feedback({"treated": "4"})
    assert app.test_client().get(link).status_code == 410  # used up
    link = created_link(create(client, case_id, uses="50", days="90")).replace("http://localhost", "")
    clock.advance(days=89, hours=23)
    assert app.test_client().get(link).status_code == 303
    clock.advance(hours=2)
    response = app.test_client().get(link)
    assert response.status_code == 410 and "cannot be used any more" in response.get_data(as_text=True)


@pytest.mark.parametrize(("uses", "days", "message"), [
    ("0", "28", "Enter a number from 1 to 50"),
    ("51", "28", "Enter a number from 1 to 50"),
    ("", "28", "Enter a number from 1 to 50"),
    ("two", "28", "Enter a number from 1 to 50"),
    ("1", "0", "Enter a number of days from 1 to 90"),
    ("1", "91", "Enter a number of days from 1 to 90"),
    ("1", "-3", "Enter a number of days from 1 to 90"),
])
def test_out_of_range_choices_are_refused_plainly(client, found, caseworker, uses, days, message):
    _, case_id = caseworker
    response = create(client, case_id, uses=uses, days=days)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    with read(found.engine) as connection:
        assert connection.execute(select(invitations)).all() == []


def test_the_qr_code_holds_only_the_link_and_is_shown_once_as_png_and_svg(client, caseworker):
    _, case_id = caseworker
    response = create(client, case_id)
    page = response.get_data(as_text=True)
    link = created_link(response)
    images = qr_images(link)
    assert f'src="{images.png_data_uri()}"' in page and f'src="{images.svg_data_uri()}"' in page
    assert images.png.startswith(b"\x89PNG\r\n\x1a\n") and images.svg.startswith(b"<svg")
    png = base64.b64decode(page.split('src="data:image/png;base64,')[1].split('"')[0])
    assert png == images.png
    # The token travels only in the text of the link and in POST bodies: no URL on the page carries it.
    token = link.rsplit("/", 1)[1]
    assert not re.search(r'(href|action|src)="[^"]*' + re.escape(token), page)
    assert page.count(f'value="{token}"') == 3  # print, PNG, SVG forms (method="post")


def test_the_qr_code_downloads_through_a_post_body(client, caseworker):
    _, case_id = caseworker
    response = create(client, case_id)
    page, link = response.get_data(as_text=True), created_link(response)
    token = link.rsplit("/", 1)[1]
    for kind, mimetype in (("png", "image/png"), ("svg", "image/svg+xml")):
        download = client.post(f"/casework/cases/{case_id}/invitations/qr.{kind}",
                               data={"token": token, "csrf_token": csrf_token(page)})
        assert download.status_code == 200 and download.mimetype == mimetype
        assert download.headers["Content-Disposition"] == f'attachment; filename="feedback-link.{kind}"'
        assert download.headers["Cache-Control"].startswith("no-store")
        assert download.data == getattr(qr_images(link), kind)


def test_a_qr_download_for_a_token_that_is_not_this_cases_usable_invitation_is_404(client, found, caseworker):
    _, case_id = caseworker
    response = create(client, case_id)
    page, link = response.get_data(as_text=True), created_link(response)
    token = link.rsplit("/", 1)[1]
    token_field = {"csrf_token": csrf_token(page)}
    assert client.post(f"/casework/cases/{case_id}/invitations/qr.png",
                       data={**token_field, "token": "made-up"}).status_code == 404
    assert client.post(f"/casework/cases/{case_id}/invitations/qr.gif",
                       data={**token_field, "token": token}).status_code == 404
    assert client.post(f"/casework/cases/{case_id}/invitations/qr.png", data={"token": token}).status_code == 400
    with write(found.engine) as connection:
        connection.execute(update(invitations).values(revoked_at=found.clock()))
    assert client.post(f"/casework/cases/{case_id}/invitations/qr.png",
                       data={**token_field, "token": token}).status_code == 404


def test_only_someone_who_can_see_the_case_can_work_with_its_invitations(app, client, found, caseworker,
                                                                         staff_factory):
    _, case_id = caseworker
    response = create(client, case_id)
    token = created_link(response).rsplit("/", 1)[1]
    _, outsider, password = staff_factory("caseworker", team="South")
    other = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(other).sign_in(outsider, password)
    page = other.get("/casework/").get_data(as_text=True)
    assert other.get(f"/casework/cases/{case_id}/invitations").status_code == 404
    form = {"csrf_token": csrf_token(page), "token": token}
    assert other.post("/casework/cases/no-such-case/invitations", data=form).status_code == 404
    assert other.post(f"/casework/cases/{case_id}/invitations", data=form).status_code == 404
    assert other.post(f"/casework/cases/{case_id}/invitations/qr.png", data=form).status_code == 404
    assert other.post(f"/casework/cases/{case_id}/invitations/print", data=form).status_code == 404
    with read(found.engine) as connection:
        invitation_id = connection.execute(select(invitations.c.id)).scalar_one()
    assert other.post(f"/casework/cases/{case_id}/invitations/{invitation_id}/revoke",
                      data=form).status_code == 404
    assert app.test_client().get(f"/casework/cases/{case_id}/invitations").status_code == 302  # signed out


def test_the_printable_page_has_the_qr_the_link_and_plain_instructions_and_no_names(client, caseworker):
    _, case_id = caseworker
    response = create(client, case_id, uses="1", days="14")
    page, link = response.get_data(as_text=True), created_link(response)
    printable = client.post(f"/casework/cases/{case_id}/invitations/print",
                            data={"token": link.rsplit("/", 1)[1], "csrf_token": csrf_token(page)})
    body = printable.get_data(as_text=True)
    assert printable.status_code == 200
    assert link in body and qr_images(link).svg_data_uri() in body
    assert "point it at the square code" in body and "16 November 2026" in body and "999" in body
    assert "<title>Feedback</title>" in body
    assert "VS-7" not in body and "Victim support" not in body and "Caseworker-" not in body


def test_revoking_stops_the_link_at_once_and_is_audited(app, client, found, caseworker):
    staff_id, case_id = caseworker
    link = created_link(create(client, case_id, uses="5")).replace("http://localhost", "")
    with read(found.engine) as connection:
        invitation_id = connection.execute(select(invitations.c.id)).scalar_one()
    listing = client.get(f"/casework/cases/{case_id}/invitations").get_data(as_text=True)
    assert "Working" in listing and "Revoke" in listing
    url = f"/casework/cases/{case_id}/invitations/{invitation_id}/revoke"
    revoked = client.post(url, data={"csrf_token": csrf_token(listing)})
    assert revoked.status_code == 200 and "no longer works" in revoked.get_data(as_text=True)
    assert "Revoked" in revoked.get_data(as_text=True)
    response = app.test_client().get(link)
    assert response.status_code == 410 and "cannot be used any more" in response.get_data(as_text=True)
    again = client.post(url, data={"csrf_token": csrf_token(listing)})
    assert again.status_code == 200 and "already revoked" in again.get_data(as_text=True)
    assert client.post(url, data={}).status_code == 400  # no CSRF token
    with read(found.engine) as connection:
        events = connection.execute(select(audit_events).where(audit_events.c.action == "invitation.revoke")).all()
    assert [(e.actor_id, e.object_id) for e in events] == [(staff_id, invitation_id)]


def test_revoking_while_a_person_is_filling_in_keeps_nothing_half_written(app, client, found, caseworker):
    _, case_id = caseworker
    link = created_link(create(client, case_id)).replace("http://localhost", "")
    person = app.test_client()
    person.get(link)
    ServiceUser(person).consent("store")
    with read(found.engine) as connection:
        invitation_id = connection.execute(select(invitations.c.id)).scalar_one()
    listing = client.get(f"/casework/cases/{case_id}/invitations").get_data(as_text=True)
    client.post(f"/casework/cases/{case_id}/invitations/{invitation_id}/revoke",
                data={"csrf_token": csrf_token(listing)})
    response = ServiceUser(person).answer({"treated": "2"})
    assert response.status_code == 410


def test_a_closed_case_takes_no_new_invitations(client, found, caseworker):
    _, case_id = caseworker
    with write(found.engine) as connection:
        connection.execute(update(cases).values(status="closed", closed_at=found.clock()))
    listing = client.get(f"/casework/cases/{case_id}/invitations").get_data(as_text=True)
    assert "This case is closed" in listing and "Create invitation" not in listing
    response = create(client, case_id)
    assert response.status_code == 409 and "This case is closed" in response.get_data(as_text=True)
    with read(found.engine) as connection:
        assert connection.execute(select(invitations)).all() == []


def test_creating_an_invitation_without_a_csrf_token_is_refused_and_stores_nothing(client, found, caseworker):
    _, case_id = caseworker
    response = client.post(f"/casework/cases/{case_id}/invitations", data={"uses": "1", "days": "28"})
    assert response.status_code == 400 and "Traceback" not in response.get_data(as_text=True)
    with read(found.engine) as connection:
        assert connection.execute(select(invitations)).all() == []
