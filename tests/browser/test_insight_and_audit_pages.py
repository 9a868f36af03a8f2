"""/insight and the audit log in real Chromium: charts with drawn marks and hidden figures in words on the demo's
history, words instead of bare axes on an empty instance, the log's date error, no axe (WCAG 2.2 A/AA)
violations at 1280 and 375 px, and never a page that scrolls sideways on a phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from casefeedback.demo import seed
from tests.browser.conftest import serve
from tests.browser.pages import axe_violations
from tests.conftest import StaffFactory, totp_secret

pytestmark = pytest.mark.browser

WIDTHS = (1280, 375)


def _served(path: Path, *, demo: bool) -> Iterator[Any]:
    running = serve(path)
    app = next(running)
    if demo:
        seed(app.extensions["casefeedback"], app.config["LIVE_URL"])
    yield app
    next(running, None)  # shut the server down


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from _served(Path(tmp_path_factory.mktemp("demo")) / "instance", demo=True)


@pytest.fixture(scope="module")
def empty_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from _served(Path(tmp_path_factory.mktemp("empty")) / "instance", demo=False)


def signed_in(browser: Any, app: Any, role: str, width: int = 1280) -> Any:
    """A fresh browser context signed in (password, then the authenticator's code) as a new member of ``role``."""
    found = app.extensions["casefeedback"]
    _, username, password = StaffFactory(found)(role)
    base = app.config["LIVE_URL"]
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(f"{base}/staff/sign-in")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.fill("#code", pyotp.TOTP(totp_secret(found, username)).at(found.clock()))
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_insight_on_the_demo_history_draws_charts_and_says_why_figures_are_hidden(browser, demo_app):
    page = signed_in(browser, demo_app, "analyst")
    page.goto(f"{demo_app.config['LIVE_URL']}/insight/")
    assert page.locator("svg.chart").count() >= 10
    assert page.locator("svg.chart rect.chart-bar").count() > 100  # bars for months and answers
    assert page.locator("svg.chart circle.chart-point").count() > 12  # the average rating, month by month
    assert page.locator("svg.chart polyline.chart-line").count() >= 1
    assert page.locator("td .insight-hidden").first.is_visible()
    note = page.locator(".insight-hidden-note").first
    assert note.is_visible()
    assert "Fewer than 10 people (the threshold declared in this service's policy)" in note.inner_text()
    text = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
    assert "suppressed" not in text.lower()
    assert page.locator(".chart-empty").count() == 0  # the history fills every chart
    page.context.close()


def test_insight_on_an_empty_instance_says_so_in_words(browser, empty_app):
    page = signed_in(browser, empty_app, "analyst")
    page.goto(f"{empty_app.config['LIVE_URL']}/insight/")
    words = page.locator(".chart-empty").first
    assert words.is_visible() and "No feedback in this period yet" in words.inner_text()
    assert page.locator("svg.chart").count() == 0 and page.locator(".chart-axis").count() == 0
    assert page.locator(".insight-all-hidden").first.is_visible()
    assert axe_violations(page) == []
    page.context.close()


def test_the_audit_logs_date_error_is_named_on_the_page(browser, demo_app):
    page = signed_in(browser, demo_app, "auditor")
    page.goto(f"{demo_app.config['LIVE_URL']}/audit/")
    assert "Monday to Friday, 08:00–18:00, Europe/London" in page.inner_text(".audit-hours")
    page.fill("#since", "last tuesday")
    with page.expect_navigation() as arrived:
        page.click("form.audit-filters button[type=submit]")
    assert arrived.value.status == 400
    summary = page.locator(".error-summary")
    assert summary.is_visible() and "There is a problem" in summary.inner_text()
    assert "Enter the 'from' date as YYYY-MM-DD" in summary.inner_text()
    assert page.title().startswith("Error:")
    assert page.get_attribute("#since", "aria-describedby") == "since-error"
    assert page.input_value("#since") == "last tuesday"  # what they typed is kept to correct
    page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_no_axe_violations_and_no_sideways_scroll(browser, demo_app, width):
    base = demo_app.config["LIVE_URL"]
    analyst = signed_in(browser, demo_app, "analyst", width)
    analyst.goto(f"{base}/insight/")
    assert axe_violations(analyst) == [], f"/insight at {width}px"
    assert no_sideways_scroll(analyst), f"/insight scrolls sideways at {width}px"
    analyst.context.close()
    auditor = signed_in(browser, demo_app, "auditor", width)
    for path in ("/audit/", "/audit/?since=31-12-2026", "/audit/?flagged=1"):
        auditor.goto(f"{base}{path}")
        assert axe_violations(auditor) == [], f"{path} at {width}px"
        assert no_sideways_scroll(auditor), f"{path} scrolls sideways at {width}px"
    # The wide log scrolls inside its own labelled box, which a keyboard can reach.
    box = auditor.locator(".table-scroll")
    assert box.get_attribute("tabindex") == "0" and "Audit events" in (box.get_attribute("aria-label") or "")
    auditor.context.close()
