"""The idle-timeout warning in a real browser: shown in time, "Stay signed in" keeps the page and what was typed,
all under the strict CSP (a static script, no inline code), and the staff pages have no axe violations."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pyotp
import pytest
from werkzeug.serving import make_server

from casefeedback import create_app
from tests.casework.support import Person, new_case
from tests.conftest import POLICIES, Clock, StaffFactory, make_config, totp_secret

pytestmark = pytest.mark.browser


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[object, Clock]]:
    """A live app whose policy warns 59 seconds before a 1-minute idle timeout, so the warning shows at once."""
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    (policies / "organisation.toml").write_text(
        '[staff_sessions]\nidle_timeout = "PT1M"\nidle_warning = "PT59S"\n', encoding="utf-8")
    clock = Clock()
    app = create_app(replace(make_config(tmp_path / "instance"), policies_dir=policies), clock=clock)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["LIVE_URL"] = f"http://127.0.0.1:{server.server_port}"
    yield app, clock
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    app.extensions["casefeedback"].engine.dispose()


def sign_in(page, app) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    found = app.extensions["casefeedback"]
    staff_id, username, password = StaffFactory(found)()
    base = app.config["LIVE_URL"]
    page.goto(f"{base}/staff/sign-in")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.fill("#code", pyotp.TOTP(totp_secret(found, username)).at(found.clock()))
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/casework/")
    return staff_id, username


def test_the_warning_keeps_the_page_and_what_was_typed(browser, live):  # type: ignore[no-untyped-def]
    app, clock = live
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    staff_id, username = sign_in(page, app)
    found = app.extensions["casefeedback"]
    case_id = new_case(found, Person(staff_id, username, "", "caseworker", app.test_client()))
    url = f"{app.config['LIVE_URL']}/casework/cases/{case_id}"
    page.goto(url)
    page.fill("#text", "Half-written outcome that must not be lost")
    warning = page.locator("#session-warning")
    warning.wait_for(state="visible", timeout=10000)
    assert "you will be signed out in about 1 minute" in page.inner_text("#session-warning-text")

    page.click("#session-extend button")
    warning.wait_for(state="hidden", timeout=10000)
    assert page.url == url and page.input_value("#text") == "Half-written outcome that must not be lost"

    # Time passes on the server without a request: the session ends, and the page says so, keeping the text.
    clock.advance(minutes=2)
    warning.wait_for(state="visible", timeout=10000)
    page.click("#session-extend button")
    page.wait_for_function("document.getElementById('session-warning-text').textContent.includes('signed out')")
    assert page.input_value("#text") == "Half-written outcome that must not be lost"
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()


def axe_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag",
                                                   "values": ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]}})
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"]]


def test_staff_pages_have_no_axe_violations(browser, live):  # type: ignore[no-untyped-def]
    app, _ = live
    base = app.config["LIVE_URL"]
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/staff/sign-in")
    assert axe_violations(page) == [], "sign-in"
    staff_id, username = sign_in(page, app)
    found = app.extensions["casefeedback"]
    case_id = new_case(found, Person(staff_id, username, "", "caseworker", app.test_client()))
    for path in ("/casework/", f"/casework/cases/{case_id}", "/casework/alerts", "/casework/notifications",
                 "/staff/account"):
        page.goto(f"{base}{path}")
        assert axe_violations(page) == [], path
    context.close()

    newcomer = browser.new_context().new_page()
    _, username, password = StaffFactory(found)(mfa=False)
    newcomer.goto(f"{base}/staff/sign-in")
    newcomer.fill("#username", username)
    newcomer.fill("#password", password)
    newcomer.click("button[type=submit]")
    newcomer.wait_for_url(f"{base}/staff/sign-in/enrol")
    assert newcomer.locator("img.qr").evaluate("image => image.naturalWidth") > 0  # the QR code loads under the CSP
    assert axe_violations(newcomer) == [], "enrol"
    newcomer.context.close()
