"""The mis-tap, in a real browser at 320 px: Continue pressed with nothing ticked on a caseworker's invitation.

It must be a mistake pointed out (focus on the error summary, its link to the box), never a "no" that sends
the person on to anonymous feedback; and declining on purpose must still lead back to the same invitation.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from casefeedback.auth import accounts
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import drafts
from tests.browser.pages import ServiceUserPage, horizontal_overflow
from tests.intake.test_leaving_and_invitations import invitation

NARROW = {"width": 320, "height": 640}


def invited(live_app: Any) -> str:
    found = live_app.extensions["casefeedback"]
    with write(found.engine) as connection:
        team_id = accounts.ensure_team(connection, "North")
        owner_id = accounts.add_staff(connection, username="owner", display_name="Owner", role="caseworker",
                                      password="x" * 16, now=found.clock(), team_id=team_id)
    return f"/feedback/i/{invitation(found, owner_id)}"


def draft_invitations(live_app: Any) -> list[str | None]:
    found = live_app.extensions["casefeedback"]
    with read(found.engine) as connection:
        return list(connection.execute(select(drafts.c.invitation_id)).scalars())


def test_continue_with_nothing_ticked_is_pointed_out_and_keeps_the_invitation(page, base_url, live_app):
    page.set_viewport_size(NARROW)
    user = ServiceUserPage(page, base_url).go(invited(live_app))
    linked = page.locator("main p", has_text="linked to your case")
    consent_page = user.path
    assert consent_page in (user.base, f"{user.base}/consent") and linked.count() == 1
    user.consent()  # nothing ticked: the thumb slipped
    assert user.has_error_summary() and user.path == f"{user.base}/consent"
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.title().startswith("Error:")
    assert linked.count() == 1 and horizontal_overflow(page) == 0
    assert page.is_visible("form button[name=action][value=decline]")
    assert draft_invitations(live_app) == []
    page.click("#error-summary a")
    assert page.url.endswith("#choice-store")
    page.check("#choice-store")
    user.consent("store")
    assert user.question_id() == "treated"
    assert len(draft_invitations(live_app)) == 1 and draft_invitations(live_app)[0] is not None


def test_declining_on_purpose_then_starting_again_finds_the_same_invitation(page, base_url, live_app):
    page.set_viewport_size(NARROW)
    user = ServiceUserPage(page, base_url).go(invited(live_app))
    user.decline()
    assert not user.has_error_summary() and horizontal_overflow(page) == 0
    user.submit(f"main a[href='{user.base}']")
    assert page.locator("main p", has_text="linked to your case").count() == 1
    user.consent("store")
    assert user.question_id() == "treated" and draft_invitations(live_app)[0] is not None
