"""Quick exit without JavaScript, and invitation links that expire or run out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from casefeedback.auth import accounts
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import create_case
from casefeedback.casework.invitations import create_invitation
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import draft_answers, submissions
from tests.helpers import ServiceUser


def invitation(found, owner_id: str, **kwargs) -> str:
    with write(found.engine) as connection:
        team_id = accounts.ensure_team(connection, "North")
        member = StaffMember(owner_id, "o", "O", "caseworker", team_id)
        case_id = create_case(connection, member=member, service_id="victim-support", reference="R-1",
                              now=found.clock())
        return create_invitation(connection, found.config.secrets.lookup.value, case_id=case_id,
                                 created_by=owner_id, now=found.clock(), **kwargs)


def test_leave_forgets_the_session_and_goes_to_the_policy_neutral_site(client, found):
    ServiceUser(client).consent("store")
    assert client.get("/feedback/victim-support/q/treated").status_code == 200
    response = client.get("/feedback/leave")
    assert response.status_code == 303
    assert response.headers["Location"] == found.policies.service("victim-support").exit_url
    assert response.headers["Clear-Site-Data"] == '"cookies"'
    # Consent is gone too, and so is the mark of having come in: Back finds only the neutral page.
    again = client.get("/feedback/victim-support/q/treated")
    assert again.status_code == 410 and "This page is no longer available" in again.get_data(as_text=True)


def test_every_intake_page_has_the_exit_link_and_no_third_party_resources(client):
    user = ServiceUser(client)
    user.consent("store")
    user.answer_question("treated", "4")
    for path in ("", "/q/listened", "/section/safety", "/check", "/save", "/resume", "/questions"):
        response = client.get(f"/feedback/victim-support{path}", follow_redirects=True)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert 'href="/feedback/leave"' in page and "Exit this page" in page, path
        assert 'src="/static/exit.js" data-exit-url="/feedback/leave"' in page, path
        assert "http://" not in page.replace('href="http://localhost', "") and "https://" not in page, path
        assert response.headers["Cache-Control"].startswith("no-store"), path


def test_expired_invitation_is_a_plain_410(client, found, staff_factory, clock):
    owner_id, *_ = staff_factory()
    token = invitation(found, owner_id, lifetime=timedelta(days=1))
    clock.advance(days=1, seconds=1)
    response = client.get(f"/feedback/i/{token}")
    assert response.status_code == 410
    assert "cannot be used any more" in response.get_data(as_text=True)


def test_unknown_invitation_token_looks_the_same_as_an_expired_one(client):
    response = client.get("/feedback/i/not-a-real-token")
    assert response.status_code == 410


def test_invitation_used_up_between_opening_and_sending_keeps_nothing_half_written(app, found,
                                                                                   staff_factory):
    owner_id, *_ = staff_factory()
    token = invitation(found, owner_id, uses=1)
    first, second = app.test_client(), app.test_client()
    first.get(f"/feedback/i/{token}")
    second.get(f"/feedback/i/{token}")
    ServiceUser(first).give_feedback({"treated": "5"})
    person = ServiceUser(second)
    person.consent("store")
    response = person.answer({"treated": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 410 and "cannot be used any more" in page
    assert "your answers are still saved" in page
    with read(found.engine) as connection:
        assert connection.execute(select(func.count()).select_from(submissions)).scalar_one() == 1
        assert connection.execute(select(func.count()).select_from(draft_answers)).scalar_one() == 8  # kept

    # They can still send it, as general feedback: not linked to the case.
    again = person.post("/feedback/victim-support/send", {"action": "unlinked"}, page)
    assert again.status_code == 200 and "receipt-code" in again.get_data(as_text=True)
    with read(found.engine) as connection:
        cases_of = connection.execute(select(submissions.c.case_id).order_by(submissions.c.submitted_at)).all()
    assert len(cases_of) == 2 and sum(1 for (case_id,) in cases_of if case_id is None) == 1
