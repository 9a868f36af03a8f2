"""The receipt pages in real headless Chromium: no axe violations, keyboard only, no JS, 320 px."""

from __future__ import annotations

import pytest

from tests.receipts.receipt_holder import BASE, give

pytestmark = pytest.mark.browser


def axe_violations(tab) -> list[str]:  # type: ignore[no-untyped-def]
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(tab, options={"runOnly": {"type": "tag",
                                                  "values": ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]}})
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"]]


def submit_code_with_the_keyboard(tab, code: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(30):  # Tab from the top of the page to the code box, as a keyboard user would
        tab.keyboard.press("Tab")
        if tab.evaluate("document.activeElement && document.activeElement.id") == "code":
            break
    else:
        raise AssertionError("the code box cannot be reached with Tab")
    tab.keyboard.type(code)
    with tab.expect_navigation():
        tab.keyboard.press("Enter")


def submit(tab, selector: str) -> None:  # type: ignore[no-untyped-def]
    with tab.expect_navigation():
        tab.click(selector)


def test_every_receipt_page_has_no_axe_violations_and_works_with_the_keyboard(page, base_url, live_app):
    code, _ = give(live_app.test_client(), {"treated": "4", "listened": "no", "anything_else": "Thank you"})
    checked: dict[str, list[str]] = {}
    page.goto(base_url + f"{BASE}/")
    checked["start"] = axe_violations(page)
    submit_code_with_the_keyboard(page, "not a code")
    assert "does not look like a receipt code" in page.content()
    checked["wrong code"] = axe_violations(page)
    page.goto(base_url + f"{BASE}/")
    submit_code_with_the_keyboard(page, code)
    assert page.url.endswith(f"{BASE}/yours") and "Thank you" in page.content()
    checked["overview"] = axe_violations(page)
    for name in ("print", "add", "contact", "withdraw"):
        page.goto(base_url + f"{BASE}/yours/{name}")
        checked[name] = axe_violations(page)
    page.goto(base_url + f"{BASE}/yours/add")
    submit(page, "button.button[type=submit]")  # nothing written: the error summary
    checked["add, nothing written"] = axe_violations(page)
    page.fill("#q_anything_else", "One more thing")
    submit(page, "button.button[type=submit]")
    assert "we have added this" in page.content()
    checked["added"] = axe_violations(page)
    page.goto(base_url + f"{BASE}/yours/withdraw")
    submit(page, "button.button-warning")
    assert "taken back and erased" in page.content()
    checked["withdrawn"] = axe_violations(page)
    assert {name: found for name, found in checked.items() if found} == {}


def test_the_receipt_works_without_javascript(no_js_page, base_url, live_app):
    code, _ = give(live_app.test_client(), {"anything_else": "no script needed"})
    no_js_page.goto(base_url + f"{BASE}/")
    no_js_page.fill("#code", code)
    submit(no_js_page, "button.button[type=submit]")
    assert "no script needed" in no_js_page.content()
    submit(no_js_page, "text=Take back your feedback, so that we erase it")
    submit(no_js_page, "button.button-warning")
    assert "taken back and erased" in no_js_page.content()


def test_the_receipt_is_usable_at_320_pixels_wide(page, base_url, live_app):
    code, _ = give(live_app.test_client(), {"treated": "2", "anything_else": "x" * 300})
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(base_url + f"{BASE}/")
    page.fill("#code", code)
    submit(page, "button.button[type=submit]")
    for path in ("yours", "yours/add", "yours/withdraw"):
        page.goto(base_url + f"{BASE}/{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, path
        assert page.is_visible("#exit-this-page"), path
