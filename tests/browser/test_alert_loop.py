"""The alert loop in a real browser: each person who may act opens the alert from their list, acknowledges it
and resolves it with a note; those who may not get the not-found page; the whole loop works from the keyboard
alone; the alert page and the list have no axe violations and never scroll sideways on a phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from casefeedback.alerts.escalation import escalate_due
from casefeedback.storage.engine import write
from casefeedback.storage.tables import cases
from tests.alerts.support import all_alerts
from tests.browser.conftest import serve
from tests.browser.pages import axe_violations
from tests.casework.support import Person, feedback, new_case
from tests.conftest import StaffFactory, next_code
from tests.helpers import ServiceUser

pytestmark = pytest.mark.browser

PHONE, DESK = {"width": 375, "height": 800}, {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    yield from serve(Path(tmp_path_factory.mktemp("alert-loop")) / "instance")


class Staff:
    """Someone on the staff list of the live app, with the password they sign in with."""

    def __init__(self, app: Any, role: str, team: str | None = "North") -> None:
        self.found = app.extensions["casefeedback"]
        self.id, self.username, self.password = StaffFactory(self.found)(role, team=team)
        self.name = self.username.title()
        self.role = role

    def person(self, app: Any) -> Person:
        return Person(self.id, self.username, self.password, self.role, app.test_client())


def sign_in(browser: Any, base: str, someone: Staff, viewport: dict[str, int] = DESK) -> Any:
    """A fresh browser of their own, signed in with password and authenticator code."""
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(f"{base}/staff/sign-in")
    page.fill("#username", someone.username)
    page.fill("#password", someone.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/staff/sign-in/code")
    page.fill("#code", next_code(someone.found, someone.username))
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/staff/sign-in" not in url)
    return page


def raise_alert(app: Any, case_id: str | None, owner: Staff | None, answers: dict[str, str | list[str]]) -> Any:
    found = app.extensions["casefeedback"]
    before = {a.id for a in all_alerts(found)}
    if case_id is None or owner is None:
        ServiceUser(app.test_client()).give_feedback(answers)
    else:
        feedback(app, found, case_id, owner.id, answers)
    (alert,) = [a for a in all_alerts(found) if a.id not in before]
    return alert


def loop(page: Any, base: str, alert: Any, title: str, note: str, shown: str) -> None:
    """Open the alert from the list, read it, acknowledge it, resolve it with a note."""
    page.goto(f"{base}/alerts/")
    page.click(f"a[href='/alerts/a/{alert.reference}']")
    page.wait_for_url(f"{base}/alerts/a/{alert.reference}")
    assert page.inner_text("h1") == title
    assert shown in page.inner_text("main")
    page.click("form[action$='/acknowledge'] button")
    page.wait_for_url(f"{base}/alerts/a/{alert.reference}")
    assert "You have acknowledged the alert" in page.inner_text("body")
    page.fill("#outcome", note)
    page.click("form[action$='/resolve'] button")
    page.wait_for_url(f"{base}/alerts/a/{alert.reference}")
    after = page.inner_text("main")
    assert "Resolved by" in after
    # The note is read by whoever may act on the alert (policy/alert_access.alert_note_rules): its writer too.
    assert note in after


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_everyone_who_may_act_closes_the_loop_and_nobody_else_sees_the_alert(browser, live_app):
    app, base = live_app, live_app.config["LIVE_URL"]
    found = app.extensions["casefeedback"]
    owner, deputy, supervisor = Staff(app, "caseworker"), Staff(app, "caseworker"), Staff(app, "supervisor")
    duty, colleague, elsewhere = Staff(app, "duty_manager", None), Staff(app, "caseworker"), \
        Staff(app, "caseworker", "South")
    case_id = new_case(found, owner.person(app), reference="LOOP-1")
    with write(found.engine) as connection:
        connection.execute(update(cases).where(cases.c.id == case_id).values(deputy_id=deputy.id))

    first = raise_alert(app, case_id, owner, {"safe_now": "no"})
    page = sign_in(browser, base, owner)
    for viewport in (DESK, PHONE):  # the list and the page, open and unacknowledged, as the owner reads them
        page.set_viewport_size(viewport)
        for path in ("/alerts/", f"/alerts/a/{first.reference}"):
            page.goto(base + path)
            assert axe_violations(page) == [], (path, viewport)
            assert no_sideways_scroll(page), (path, viewport)
    page.set_viewport_size(DESK)
    # The countdown moves on by itself (static/alert-countdown.js, under the CSP): 20 minutes later it says overdue.
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.clock.install()
    page.goto(f"{base}/alerts/a/{first.reference}")
    assert page.inner_text("time[data-alert-due]").endswith("left to acknowledge")
    page.clock.fast_forward("20:00")
    page.wait_for_function("() => document.querySelector('time[data-alert-due]').textContent.startsWith('Overdue by')")
    assert not errors, errors
    loop(page, base, first, "Says they are not safe now", "Called her at 10:05; she is with her sister.",
         "Do you feel safe right now?")
    page.context.close()

    for refused in (colleague, elsewhere):
        other = sign_in(browser, base, refused)
        response = other.goto(f"{base}/alerts/a/{first.reference}")
        assert response is not None and response.status == 404
        assert first.reference not in other.content() and "LOOP-1" not in other.content()
        other.context.close()

    clock = found.clock
    for someone, steps in ((deputy, 1), (supervisor, 2)):
        alert = raise_alert(app, case_id, owner, {"safe_now": "no"})
        for _ in range(steps):  # nobody acknowledges: the alert goes on down the chain to them
            clock.advance(minutes=15, seconds=1)
            escalate_due(found)
        page = sign_in(browser, base, someone)
        loop(page, base, alert, "Says they are not safe now", f"{someone.role} called her.",
             "Do you feel safe right now?")
        page.context.close()

    # Anonymous feedback: nobody holds a case relation; the duty manager is told and reads the safety answer.
    anonymous = raise_alert(app, None, None, {"safer": "he will hurt me tonight"})
    page = sign_in(browser, base, duty)
    loop(page, base, anonymous, "Words of danger or self-harm in what they wrote about their safety",
         "Police welfare check asked for.", "he will hurt me tonight")
    page.context.close()
    resolved = {a.id: a.resolved_by for a in all_alerts(found)}
    assert resolved[first.id] == owner.id and resolved[anonymous.id] == duty.id


def test_the_loop_by_keyboard_alone(browser, live_app):
    app, base = live_app, live_app.config["LIVE_URL"]
    found = app.extensions["casefeedback"]
    owner = Staff(app, "caseworker")
    case_id = new_case(found, owner.person(app), reference="KEYS-1")
    alert = raise_alert(app, case_id, owner, {"treated": "1"})
    page = browser.new_context(viewport=DESK).new_page()

    def tab_to(selector: str, limit: int = 80) -> None:
        """Press Tab until the element matching ``selector`` has the focus."""
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    page.goto(f"{base}/staff/sign-in")
    tab_to("#username")
    page.keyboard.type(owner.username)
    tab_to("#password")
    page.keyboard.type(owner.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/staff/sign-in/code")
    tab_to("#code")
    page.keyboard.type(next_code(found, owner.username))
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/staff/sign-in" not in url)
    tab_to("a[href='/alerts/']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/alerts/")
    tab_to(f"a[href='/alerts/a/{alert.reference}']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/alerts/a/{alert.reference}")
    assert page.inner_text("h1") == "Says they were treated badly"
    tab_to("form[action$='/acknowledge'] button")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.body.innerText.includes('You have acknowledged the alert')")
    tab_to("#outcome")
    page.keyboard.type("Rang him; a manager will review the case.")
    tab_to("form[action$='/resolve'] button")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.body.innerText.includes('Resolved by')")
    (row,) = [a for a in all_alerts(found) if a.id == alert.id]
    assert row.acknowledged_by == owner.id and row.resolved_by == owner.id
    page.context.close()
