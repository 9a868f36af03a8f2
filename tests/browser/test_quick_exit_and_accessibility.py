"""The first intake page in a real browser: no axe violations, quick exit by button, keys and without JS."""

from __future__ import annotations

import pytest

from tests.browser.pages import axe_violations, horizontal_overflow, wait_for_exit, watch_exit

pytestmark = pytest.mark.browser

START = "/feedback/victim-support"


def test_start_page_has_no_axe_violations(page, base_url):
    page.goto(base_url + START)
    assert axe_violations(page) == []


def test_exit_button_replaces_the_page_so_back_does_not_return(page, base_url, live_app):
    visited = watch_exit(page, live_app)
    page.goto(base_url + "/health")
    page.goto(base_url + START)
    page.click("#exit-this-page", no_wait_after=True)
    wait_for_exit(page, visited)
    page.go_back()
    assert page.url == base_url + "/health"  # replaced, so Back skips the feedback page


def test_shift_three_times_exits(page, base_url, live_app):
    visited = watch_exit(page, live_app)
    page.goto(base_url + START)
    for _ in range(3):
        page.keyboard.press("Shift")
    wait_for_exit(page, visited)


def test_exit_works_without_javascript(no_js_page, base_url, live_app):
    visited = watch_exit(no_js_page, live_app)
    no_js_page.goto(base_url + START)
    no_js_page.click("#exit-this-page", no_wait_after=True)
    wait_for_exit(no_js_page, visited)


def test_usable_at_320_pixels_wide(page, base_url):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(base_url + START)
    assert horizontal_overflow(page) <= 0
    assert page.is_visible("#exit-this-page")
