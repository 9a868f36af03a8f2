"""The overdue-alerts banner in real Chromium: seen on a phone and a desk, no axe violations, no sideways scroll;
the rota page likewise."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest

from casefeedback.alerts.routing import add_shift
from casefeedback.storage.engine import write
from tests.alerts.support import all_alerts
from tests.browser.pages import axe_violations, horizontal_overflow
from tests.conftest import StaffFactory, totp_secret
from tests.helpers import ServiceUser

pytestmark = pytest.mark.browser


def sign_in(page: Any, app: Any, role: str) -> str:
    found = app.extensions["casefeedback"]
    staff_id, username, password = StaffFactory(found)(role, team=None if role == "duty_manager" else "North")
    base = app.config["LIVE_URL"]
    page.goto(f"{base}/staff/sign-in")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.fill("#code", pyotp.TOTP(totp_secret(found, username)).at(found.clock()))
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/sign-in" not in page.url
    return str(staff_id)


@pytest.mark.parametrize("width", [375, 1280])
def test_the_banner_is_seen_and_accessible_at_every_width(browser, live_app, width):  # type: ignore[no-untyped-def]
    found = live_app.extensions["casefeedback"]
    base = live_app.config["LIVE_URL"]
    # Anonymous feedback with nobody on duty: the alert is overdue at once, nobody left to tell.
    ServiceUser(live_app.test_client()).give_feedback({"safe_now": "no"})
    (alert,) = all_alerts(found)
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    manager = sign_in(page, live_app, "duty_manager")
    with write(found.engine) as connection:  # so the rota page has a shift to show, and remove
        add_shift(connection, service_id="victim-support", staff_id=manager, starts_at=found.clock(),
                  ends_at=found.clock() + timedelta(hours=8), set_by=None, now=found.clock())
    page.goto(f"{base}/staff/account")
    banner = page.locator(".overdue-banner")
    assert banner.is_visible() and banner.locator("h2").inner_text() == "Overdue alerts"
    box = banner.bounding_box()
    assert box is not None and box["y"] < 400 and box["width"] <= width  # at the top, within the screen
    link = banner.get_by_role("link", name=alert.reference)
    assert link.is_visible() and "nobody left to tell" in banner.inner_text()
    assert axe_violations(page) == []
    assert horizontal_overflow(page) <= 0
    page.goto(f"{base}/alerts/rota")
    assert page.locator(".overdue-banner").is_visible()
    assert axe_violations(page) == []
    assert horizontal_overflow(page) <= 0
    # The rota page with its error summary, as a person who mistyped sees it.
    page.select_option("#person", manager)
    page.fill("#starts", "2026-11-02T12:00")
    page.fill("#ends", "2026-11-02T11:00")
    page.click("form.rota-form >> text=Add the shift")
    assert page.locator(".error-summary").is_visible() and "The end must be after the start." in page.content()
    assert axe_violations(page) == []
    assert horizontal_overflow(page) <= 0
    link = page.locator(".overdue-banner").get_by_role("link", name=alert.reference)
    link.click()
    page.wait_for_url(f"{base}/alerts/a/{alert.reference}")
    context.close()
