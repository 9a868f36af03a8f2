"""Consent is a choice made on purpose: an unticked box is a mistake pointed out, declining is its own button,
and every way back to the start returns a person who came through an invitation to that same invitation.

One slip on a small screen used to turn feedback meant for a caseworker into anonymous feedback (and a
safety alert meant for the caseworker into one for the duty manager): these tests pin the way back.
"""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from casefeedback.storage.engine import read
from casefeedback.storage.tables import drafts, invitations, submissions
from tests.conftest import csrf_token
from tests.helpers import ServiceUser, location
from tests.intake.test_first_path import count
from tests.intake.test_leaving_and_invitations import invitation

BASE = "/feedback/victim-support"
LINKED = "Your feedback will be linked to your case"
ANONYMOUS = "Your feedback is anonymous"
REQUIRED_ERROR = ("To give feedback, tick the box marked “needed”. "
                  "If you do not want to, choose “I do not want to give feedback”.")


def invited(app, found, staff_factory):
    """A person who opened their caseworker's link, and that invitation's id."""
    owner_id, *_ = staff_factory()
    token = invitation(found, owner_id)
    client = app.test_client()
    assert client.get(f"/feedback/i/{token}").status_code == 303
    with read(found.engine) as connection:
        invitation_id = connection.execute(select(invitations.c.id)).scalar_one()
    return client, invitation_id


def opened(client, path: str = BASE) -> str:
    """A page as a person reaches it: the service's address is a door that leads on to the consent page."""
    return client.get(path, follow_redirects=True).get_data(as_text=True)


def post_consent(client, *choices: str, action: str | None = "continue"):
    page = opened(client)
    data: dict[str, object] = {f"choice_{c}": "y" for c in choices}
    if action is not None:
        data["action"] = action
    return client.post(f"{BASE}/consent", data={**data, "csrf_token": csrf_token(page)})


def decline(client):
    return post_consent(client, action="decline")


def start_again_link(page: str) -> str:
    """Every "start" link on a page (declined, problem, draft gone, deleted): they must all agree."""
    links = {unescape(href) for href in re.findall(r'<a href="([^"]+)"', page)
             if href in (BASE, f"{BASE}/consent")}
    assert len(links) == 1, links
    return links.pop()


def draft_invitations(found) -> list[str | None]:
    with read(found.engine) as connection:
        return list(connection.execute(select(drafts.c.invitation_id)).scalars())


def test_continuing_without_the_needed_box_is_an_error_on_the_same_page(app, found, staff_factory):
    client, invitation_id = invited(app, found, staff_factory)
    response = post_consent(client, "contact_me")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    # The GOV.UK error summary: first on the page, focusable (intake.js moves focus to it), linking to the box.
    summary = re.search(r'<div class="error-summary" role="alert" tabindex="-1" id="error-summary".*?</div>',
                        page, re.S)
    assert summary and page.index("error-summary") < page.index("<h1>")
    assert f'<a href="#choice-store">{REQUIRED_ERROR}</a>' in summary.group(0)
    assert 'id="choice-store" name="choice_store"' in page
    assert "<title>Error: Feedback</title>" in page
    assert ('<p class="error-message" id="choices-error"><span class="visually-hidden">Error:</span> '
            f"{REQUIRED_ERROR}</p>") in page
    assert 'aria-describedby="choices-hint choices-error"' in page
    # The page is as it was: still tied to the invitation, what was ticked still ticked, nothing stored.
    assert LINKED in page and ANONYMOUS not in page
    assert 'name="choice_contact_me" value="y" checked' in page
    assert 'name="choice_store" value="y">' in page
    assert "nothing has been saved" not in page
    assert count(found, drafts) == 0
    # Ticking it and continuing starts the draft, tied to the invitation (so to the case).
    response = post_consent(client, "store", "contact_me")
    assert response.status_code == 303 and location(response) == f"{BASE}/q/treated"
    assert draft_invitations(found) == [invitation_id]


def test_a_post_without_any_action_is_read_as_continue_never_as_no(client, found):
    response = post_consent(client, action=None)
    assert response.status_code == 400 and REQUIRED_ERROR in response.get_data(as_text=True)
    assert count(found, drafts) == 0


def test_the_error_is_in_welsh_for_a_welsh_speaker(client):
    opened(client, f"{BASE}?lang=cy")
    page = post_consent(client).get_data(as_text=True)
    assert '<html lang="cy">' in page and 'id="error-summary"' in page
    assert REQUIRED_ERROR not in page and "I do not want to give feedback" not in page
    assert '<span class="visually-hidden">Gwall:</span>' in page


def test_declining_is_its_own_button_and_start_again_finds_the_same_invitation(app, found, staff_factory):
    client, invitation_id = invited(app, found, staff_factory)
    consent_page = opened(client)
    assert '<button type="submit" name="action" value="decline"' in consent_page
    assert "I do not want to give feedback" in consent_page
    response = decline(client)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "nothing has been saved" in page
    assert count(found, drafts) == 0 and count(found, submissions) == 0
    again = opened(client, start_again_link(page))
    assert LINKED in again and ANONYMOUS not in again
    post_consent(client, "store")
    assert draft_invitations(found) == [invitation_id]


def test_declining_with_saved_answers_erases_them_and_keeps_the_invitation(app, found, staff_factory):
    client, invitation_id = invited(app, found, staff_factory)
    user = ServiceUser(client)
    post_consent(client, "store")
    user.answer_question("treated", "4")
    consent_page = opened(client)
    assert "we delete the answers you have saved" in consent_page
    # Unticking the needed box and pressing Continue is a mistake pointed out: nothing is erased.
    response = post_consent(client)
    assert response.status_code == 400 and "You have saved answers already" in response.get_data(as_text=True)
    assert draft_invitations(found) == [invitation_id]
    # Declining on purpose erases the draft ("no" means no), but not the way back.
    page = decline(client).get_data(as_text=True)
    assert "nothing has been saved" in page and count(found, drafts) == 0
    assert LINKED in opened(client, start_again_link(page))


def test_a_problem_page_leads_back_to_the_same_invitation(app, found, staff_factory):
    client, _ = invited(app, found, staff_factory)
    response = client.get(f"{BASE}/q/no-such-question")
    assert response.status_code == 404
    assert LINKED in opened(client, start_again_link(response.get_data(as_text=True)))


def test_after_the_draft_expires_start_again_finds_the_same_invitation(app, found, staff_factory, clock):
    client, invitation_id = invited(app, found, staff_factory)
    post_consent(client, "store")
    ServiceUser(client).answer_question("treated", "4")
    clock.advance(days=15)  # past draft_keep (14 days)
    response = client.get(f"{BASE}/q/listened")
    page = response.get_data(as_text=True)
    assert response.status_code == 410 and "Your unfinished answers have been deleted" in page
    assert LINKED in opened(client, start_again_link(page))
    post_consent(client, "store")
    assert draft_invitations(found) == [invitation_id]


def test_after_deleting_answers_start_again_finds_the_same_invitation(app, found, staff_factory):
    client, invitation_id = invited(app, found, staff_factory)
    user = ServiceUser(client)
    post_consent(client, "store")
    page = user.post(f"{BASE}/save", {"action": "delete"}).get_data(as_text=True)
    assert count(found, drafts) == 0
    assert LINKED in opened(client, start_again_link(page))
    post_consent(client, "store")
    assert draft_invitations(found) == [invitation_id]


def test_after_sending_nothing_of_the_invitation_stays_in_the_session(app, found, staff_factory):
    # A shared phone: the next person to open the general link must not be tied to this person's case.
    client, _ = invited(app, found, staff_factory)
    post_consent(client, "store")
    ServiceUser(client).answer({"treated": "4"})
    with read(found.engine) as connection:
        assert connection.execute(select(submissions.c.case_id)).scalar_one() is not None
    assert ANONYMOUS in opened(client)


def test_general_feedback_declined_starts_again_as_general_feedback(client, found):
    page = decline(client).get_data(as_text=True)
    assert ANONYMOUS in opened(client, start_again_link(page))
    post_consent(client, "store")
    assert draft_invitations(found) == [None]
