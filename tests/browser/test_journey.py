"""Whole journeys in a real browser: with the keyboard alone, without JavaScript, and with the mouse
(Back keeps answers, save and resume with a code, Welsh part-way, the exit button from a question)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.pages import FOCUS_SHOWN, RECEIPT_BASE, ServiceUserPage, wait_for_exit, watch_exit

pytestmark = pytest.mark.browser


# --- the keyboard alone --------------------------------------------------------

def focused(page: Any) -> str:
    return str(page.evaluate("() => { const el = document.activeElement; return el ? el.outerHTML.slice(0, 120)"
                             " : ''; }"))


def tab_to(page: Any, selector: str, *, backwards: bool = False, limit: int = 80) -> None:
    """Press Tab (or Shift+Tab) until ``selector`` has the focus; every element on the way must show it."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        assert page.evaluate(FOCUS_SHOWN) is not False, f"focus is not visible on {focused(page)}"
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with {'Shift+' if backwards else ''}Tab")


def enter_on(page: Any, selector: str) -> None:
    """Tab to a button or link and press Enter; a new page loads."""
    tab_to(page, selector)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def checked(page: Any) -> list[str]:
    return [str(v) for v in page.eval_on_selector_all("input[name=answer]:checked", "els => els.map(e => e.value)")]


def test_a_whole_journey_with_the_keyboard_alone(page, base_url):
    user = ServiceUserPage(page, base_url).start()
    # The skip link is the first thing Tab reaches, it shows itself, and it moves the focus to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.evaluate(FOCUS_SHOWN) and page.locator(".skip-link").bounding_box()["x"] >= 0
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")

    tab_to(page, "#choice-store")
    page.keyboard.press("Space")
    assert page.is_checked("#choice-store")
    enter_on(page, "main form button[type=submit]")

    # Question 1, a rating: arrows move along the radios and choose.
    assert user.question_id() == "treated"
    tab_to(page, "input[name=answer]")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    assert checked(page) == ["4"]
    enter_on(page, "button[value=continue]")

    # Question 2: Space chooses; Shift+Tab goes back from the buttons to change it.
    assert user.question_id() == "listened"
    tab_to(page, "input[name=answer]")
    page.keyboard.press("Space")
    tab_to(page, "button[value=continue]")
    tab_to(page, "input[name=answer]", backwards=True)
    page.keyboard.press("ArrowDown")
    assert checked(page) == ["sometimes"]
    enter_on(page, "button[value=continue]")

    # Question 3: go Back, and question 2 still shows the answer.
    assert user.question_id() == "informed"
    enter_on(page, "#back-link")
    assert user.question_id() == "listened" and checked(page) == ["sometimes"]
    enter_on(page, "button[value=continue]")
    enter_on(page, "button[value=skip]")  # question 3
    enter_on(page, "button[value=skip]")  # question 4
    enter_on(page, "button[value=skip]")  # question 5

    # The content warning, then a question in it and a text answer typed in.
    assert user.on_section_warning()
    enter_on(page, "button[value=continue]")
    assert user.question_id() == "safe_now"
    tab_to(page, "input[name=answer]")
    page.keyboard.press("Space")
    assert checked(page) == ["yes"]
    enter_on(page, "button[value=continue]")
    assert user.question_id() == "safer"
    tab_to(page, "textarea#answer")
    page.keyboard.type("Typed with the keyboard")
    enter_on(page, "button[value=continue]")
    enter_on(page, "button[value=skip]")  # anything else

    # Check your answers: change question 1 through its link, with the arrows.
    assert user.on_check_page()
    enter_on(page, ".summary-actions a[href*='/q/treated']")
    assert checked(page) == ["4"]
    tab_to(page, "input[name=answer]:checked")
    page.keyboard.press("ArrowUp")
    enter_on(page, "button[value=continue]")
    assert user.on_check_page() and user.check_value(1) == "3"
    assert "Typed with the keyboard" in page.inner_text("main")

    enter_on(page, "form[action$='/send'] button[type=submit]")
    assert user.shown_code()


# --- without JavaScript --------------------------------------------------------

def test_the_journey_works_without_javascript(no_js_page, base_url):
    user = ServiceUserPage(no_js_page, base_url).start()
    user.consent("store").answer("5").prefer_not_to_say().answer("yes")
    # Back is a plain link: it shows what was saved.
    assert user.question_id() == "easy_to_reach"
    user.back()
    assert user.question_id() == "informed" and user.chosen() == ["yes"]
    user.back()
    assert user.question_id() == "listened" and user.chosen() == ["prefer_not_to_say"]
    user.back()
    assert user.question_id() == "treated" and user.chosen() == ["5"]
    user.press("continue")
    user.walk_to("/section/safety").skip_section()
    assert user.question_id() == "anything_else"
    user.answer("Sent without any script")
    assert user.on_check_page()

    # A Change link, then Back from the change page, then a change made.
    user.change(1)
    assert user.chosen() == ["5"]
    user.back()
    assert user.on_check_page()
    user.change(1).answer("2")
    assert user.on_signpost()  # a low score: what will happen, then straight back to the check page
    user.carry_on()
    assert user.on_check_page() and user.check_value(1) == "2"

    code = user.send()
    user.go(f"{RECEIPT_BASE}/").open_receipt(code)
    assert "Sent without any script" in no_js_page.inner_text("main")


# --- with the mouse: Back keeps what was chosen, save and resume, Welsh part-way ------------

def test_back_keeps_a_new_answer_and_a_resume_code_carries_on_in_welsh(browser, page, base_url):
    user = ServiceUserPage(page, base_url).start()
    user.consent("store").answer("4").choose("no").back()  # chosen but not sent: Back saves it (JS)
    assert user.question_id() == "treated" and user.chosen() == ["4"]
    user.press("continue")
    assert user.question_id() == "listened" and user.chosen() == ["no"]
    user.press("continue").save_for_later()
    code = user.get_resume_code()

    elsewhere = browser.new_context()
    try:
        other = ServiceUserPage(elsewhere.new_page(), base_url).start().switch_language("cy")
        other.resume(code)
        assert other.question_id() == "informed"
        assert "Wnaethon ni ddweud wrthoch chi" in other.page.inner_text("main")
        other.back()
        assert other.question_id() == "listened" and other.chosen() == ["no"]
    finally:
        elsewhere.close()


def test_the_exit_button_on_a_question_leaves_no_way_back_to_the_answers(page, base_url, live_app):
    user = ServiceUserPage(page, base_url).start()
    user.consent("store").answer("4").choose("no")
    visited = watch_exit(page, live_app)
    page.click("#exit-this-page", no_wait_after=True)
    wait_for_exit(page, visited)
    page.go_back()
    # Back reaches the question before, which no longer opens: the session was forgotten, and the
    # page says nothing of the service, the question or the answer.
    assert user.question_id() == "treated" and "This page is no longer available" in page.inner_text("main")
    assert not page.locator("input").count()
