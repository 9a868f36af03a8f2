"""The front page and the short-code page in a real browser: axe, 320 px, the quick exit, and a code typed by hand."""

from __future__ import annotations

from typing import Any

import pytest

from casefeedback.auth import accounts
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import create_case
from casefeedback.casework.invitations import NewInvitation, new_invitation
from casefeedback.storage.engine import write
from tests.browser.pages import ServiceUserPage, axe_violations, horizontal_overflow, wait_for_exit, watch_exit

pytestmark = pytest.mark.browser


def invitation(live_app: Any) -> NewInvitation:
    """A case and an invitation to it, as a caseworker would have made them."""
    found = live_app.extensions["casefeedback"]
    with write(found.engine) as connection:
        team_id = accounts.ensure_team(connection, "North")
        owner_id = accounts.add_staff(connection, username="casey", display_name="Casey", role="caseworker",
                                      password="a long enough password", now=found.clock(), team_id=team_id)
        member = StaffMember(owner_id, "casey", "Casey", "caseworker", team_id)
        case_id = create_case(connection, member=member, service_id="victim-support", reference="B-1",
                              now=found.clock())
        return new_invitation(connection, found.config.secrets.lookup.value, case_id=case_id, created_by=owner_id,
                              now=found.clock())


def short_code(live_app: Any) -> str:
    return invitation(live_app).short_code


def problems(page: Any) -> list[str]:
    found = axe_violations(page)
    page.set_viewport_size({"width": 320, "height": 640})
    if horizontal_overflow(page) > 0:
        found.append("wider than 320 px")
    if not page.is_visible("#exit-this-page"):
        found.append("no visible exit button at 320 px")
    page.set_viewport_size({"width": 1280, "height": 720})
    return found


@pytest.mark.parametrize("language", ["en", "cy"])
def test_from_the_front_page_to_the_journey_by_a_typed_code(page, base_url, live_app, language):
    user = ServiceUserPage(page, base_url).go("/")
    if language != "en":
        user.switch_language(language)
    assert user.path == "/start"  # "/" is a door (intake/arrival.py)
    found = {"front page": problems(page)}
    user.submit("#have-a-code")
    assert user.path == "/feedback/code/enter" and page.get_attribute("html", "lang") == language
    found["code page"] = problems(page)
    user.submit("main form button[type=submit]")  # nothing typed
    assert user.has_error_summary()
    found["code page with an error"] = problems(page)
    assert {name: p for name, p in found.items() if p} == {}
    page.fill("#code", short_code(live_app).lower().replace("-", " "))
    user.submit("main form button[type=submit]")
    assert user.path.startswith(user.base)  # the consent page, tied to the invitation
    assert page.locator(f"form[action$='{user.base}/consent']").count() == 1
    assert page.get_attribute("html", "lang") == language


def test_shift_three_times_leaves_the_front_page(page, base_url, live_app):
    user = ServiceUserPage(page, base_url).go("/")
    assert user.path == "/start"
    visited = watch_exit(page, live_app)
    for _ in range(3):
        page.keyboard.press("Shift")
    wait_for_exit(page, visited)
