"""Quick exit without JavaScript, and invitation links that expire or run out."""

from __future__ import annotations

from datetime import timedelta

from casefeedback.auth import accounts
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import create_case
from casefeedback.casework.invitations import create_invitation
from casefeedback.storage.engine import write
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
    assert client.get("/feedback/victim-support/questions").status_code == 200
    response = client.get("/feedback/leave")
    assert response.status_code == 303
    assert response.headers["Location"] == found.policies.service("victim-support").exit_url
    assert client.get("/feedback/victim-support/questions").status_code == 303  # consent is gone too


def test_every_intake_page_has_the_exit_link_and_no_third_party_resources(client):
    ServiceUser(client).consent("store")
    for path in ("/feedback/victim-support", "/feedback/victim-support/questions"):
        page = client.get(path).get_data(as_text=True)
        assert 'href="/feedback/leave"' in page and "Exit this page" in page
        assert "http://" not in page.replace('href="http://localhost', "") and "https://" not in page


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
    ServiceUser(second).consent("store")
    from tests.conftest import csrf_token

    page = second.get("/feedback/victim-support/questions").get_data(as_text=True)
    response = second.post("/feedback/victim-support/questions",
                           data={"q_treated": "1", "csrf_token": csrf_token(page)})
    assert response.status_code == 410
    from sqlalchemy import func, select

    from casefeedback.storage.engine import read
    from casefeedback.storage.tables import submissions

    with read(found.engine) as connection:
        assert connection.execute(select(func.count()).select_from(submissions)).scalar_one() == 1
