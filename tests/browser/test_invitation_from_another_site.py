"""An invitation link opened from another site, in real Chromium: the feedback stays tied to the case.

Chromium does not send the SameSite=Strict session cookie on any request of a navigation
that began on another site (webmail, a text message), redirects included: the invitation
the link's door put in the session was lost, the feedback became anonymous, and its
caseworker never heard of it. It is carried across the doors in a Lax cookie of its own
(intake/arrival.py); this test follows the link as a person would, from a page elsewhere.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from casefeedback.storage.engine import read
from casefeedback.storage.schema.intake import drafts
from tests.browser.pages import SERVICE, ServiceUserPage
from tests.browser.test_back_after_quick_exit import come_in_from_another_site
from tests.browser.test_front_and_code_pages import invitation

pytestmark = pytest.mark.browser


def test_an_invitation_opened_from_another_site_reaches_consent_for_the_case(page, base_url, live_app):
    made = invitation(live_app)
    come_in_from_another_site(page, base_url, f"/feedback/i/{made.token}")
    user = ServiceUserPage(page, base_url)
    assert user.path == f"/feedback/{SERVICE}/consent"
    assert "Your feedback will be linked to your case" in page.content()
    assert "Your feedback is anonymous" not in page.content()
    user.consent("store")
    assert user.question_id() is not None
    with read(live_app.extensions["casefeedback"].engine) as connection:
        assert connection.execute(select(drafts.c.invitation_id)).scalar_one() == made.id
    cookies = {cookie["name"] for cookie in page.context.cookies()}
    assert "casefeedback-invitation" not in cookies  # taken into the session, then deleted
