"""Closing the loop in real Chromium: a caseworker writes a reply on the feedback's page, a service manager
publishes "You said, we did", and the person reads both — on their receipt page in English and in Welsh, and
on the front page — with no axe violations and no sideways scrolling on a phone."""

from __future__ import annotations

from typing import Any

import pytest

from casefeedback.services import Services
from tests.browser.pages import RECEIPT_BASE, axe_violations, horizontal_overflow
from tests.browser.staff import World, sign_in
from tests.casework.reply_support import give_on_case
from tests.casework.support import new_case
from tests.conftest import StaffFactory

pytestmark = pytest.mark.browser

REPLY = "Thank you for telling us. We have spoken to the team about calling you back, and it will not happen again."
DID_EN = "A caseworker now answers the phone until 8pm on weekdays."
DID_CY = "Mae gweithiwr achos bellach yn ateb y ffôn tan 8pm yn ystod yr wythnos."


def _checked(tab: Any, label: str) -> None:
    for width in (1280, 375):
        tab.set_viewport_size({"width": width, "height": 900})
        assert axe_violations(tab) == [], (label, width)
        assert horizontal_overflow(tab) <= 0, (label, width)


def _staff_tab(browser: Any, world: World, username: str, password: str) -> Any:
    tab = browser.new_context().new_page()
    sign_in(tab, world, username, password)
    return tab


def test_the_person_sees_their_reply_and_the_front_page_shows_what_changed(browser, live_app, base_url):  # type: ignore[no-untyped-def]
    found: Services = live_app.extensions["casefeedback"]
    world = World(live_app, base_url, found)
    make = StaffFactory(found)
    owner_id, owner_name, owner_password = make("caseworker")
    _analyst_id, analyst_name, analyst_password = make("analyst", team=None)

    class Owner:  # what new_case needs of a person
        id = owner_id

    case_id = new_case(found, Owner(), "VS-2001")  # type: ignore[arg-type]
    given = give_on_case(live_app, found, case_id, owner_id, {"treated": "2", "anything_else": "Nobody rang back."})

    caseworker = _staff_tab(browser, world, owner_name, owner_password)
    caseworker.goto(f"{base_url}/casework/submissions/{given.submission_id}")
    caseworker.fill("#text", REPLY)
    with caseworker.expect_navigation():
        caseworker.click("form[action$='/replies'] button[type=submit]")
    assert "Your reply is saved" in caseworker.content() and REPLY in caseworker.content()
    _checked(caseworker, "feedback page with a reply")

    manager = _staff_tab(browser, world, analyst_name, analyst_password)
    manager.goto(f"{base_url}/insight/changes")
    manager.fill("#period", "2026-10")
    manager.fill("#said_en", "It was hard to reach us after 5pm.")
    manager.fill("#did_en", DID_EN)
    manager.fill("#said_cy", "Roedd hi'n anodd cysylltu â ni ar ôl 5pm.")
    manager.fill("#did_cy", DID_CY)
    with manager.expect_navigation():
        manager.click("form[action$='/insight/changes'] button[type=submit]")
    assert "How it will look" in manager.content() and DID_CY in manager.content()
    _checked(manager, "preview")
    with manager.expect_navigation():
        manager.click("form[action$='/publish'] button[type=submit]")
    assert "Published" in manager.content()

    person = browser.new_context().new_page()
    person.goto(f"{base_url}{RECEIPT_BASE}/")
    person.fill("#code", given.code)
    with person.expect_navigation():
        person.click("form[action$='/check'] button[type=submit]")
    text = person.inner_text("main")
    assert "We have replied to you" in text and REPLY in text and DID_EN in text
    _checked(person, "receipt page in English")
    with person.expect_navigation():
        person.click("a[hreflang=cy]")
    text = person.inner_text("main")
    assert "Rydyn ni wedi ymateb i chi" in text and REPLY in text and DID_CY in text and "Hydref 2026" in text
    _checked(person, "receipt page in Welsh")

    visitor = browser.new_context().new_page()
    visitor.goto(f"{base_url}/")
    text = visitor.inner_text("main")
    assert "You said, we did" in text and DID_EN in text and "October 2026" in text
    _checked(visitor, "front page")
