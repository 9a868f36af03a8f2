"""After a quick exit, Back (up to three times) shows nothing of the service: in real Chromium, each way out.

The exit erases the draft and the session, but it cannot take pages out of the
history: Back asks for them again (no-store), and they must answer with the
neutral page (intake/arrival.py) — no service name, no question, no answer, nothing
about saved answers. The person comes in from a link on another site first, as from
an email or a text message, so that Back has somewhere to go beyond the service.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.pages import RECEIPT_BASE, SERVICE, ServiceUserPage, axe_violations, wait_for_exit, watch_exit
from tests.receipts.receipt_holder import give

pytestmark = pytest.mark.browser

MAIL = "https://mail.example/inbox"
WAYS_OUT = ["button", "shift", "link without javascript"]
TYPED = ("A lock on the door, and a neighbour who knows", "He reads my messages")
# The interface's own words that would give the service away, in both languages.
GIVEAWAYS = ["Tell us how you were treated", "Dywedwch wrthon ni sut cawsoch chi eich trin", "answers", "atebion",
             "timed out", "See or change the feedback you gave"]


def forbidden(live_app: Any) -> list[str]:
    """What no page reached by Back may show: the service's name, its questions and helplines, any answer."""
    policy = live_app.extensions["casefeedback"].policies.service(SERVICE)
    texts = [policy.name, *(q.text for q in policy.questions), *(s.title for s in policy.sections.values()),
             *(line.name for line in policy.helplines), policy.consent.intro]
    return [*(value for text in texts for value in text.values()), *TYPED, *GIVEAWAYS]


def come_in_from_another_site(page: Any, base_url: str, path: str) -> None:
    body = f'<title>Inbox</title><a id="link" href="{base_url}{path}">x</a>'
    page.route(MAIL, lambda route: route.fulfill(status=200, content_type="text/html", body=body))
    page.goto(MAIL)
    with page.expect_navigation():
        page.click("#link")


def leave(page: Any, live_app: Any, way: str) -> None:
    visited = watch_exit(page, live_app)
    if way == "shift":
        for _ in range(3):
            page.keyboard.press("Shift")
    else:
        page.click("#exit-this-page", no_wait_after=True)
    wait_for_exit(page, visited)


def what_back_shows(page: Any, base_url: str, live_app: Any, times: int = 3) -> dict[str, list[str]]:
    """Press Back up to ``times`` times; what each page of ours showed that it must not (empty: nothing).

    Each must have been asked for again (no-store keeps it out of the back-forward cache) and
    answered as gone: a page restored without asking would be shown as it was."""
    words = [word.lower() for word in forbidden(live_app)]
    found: dict[str, list[str]] = {}
    for _ in range(times):
        response = page.go_back()
        if page.url == MAIL:
            break  # back where the person came from
        if not page.url.startswith(base_url):
            continue  # the neutral site the exit led to
        shown = (page.title() + "\n" + page.content()).lower()
        problems = [word for word in words if word in shown]
        if response is None or response.status != 410:
            # Not asked for again (the back-forward cache), or not answered as a page that is gone.
            problems.append(f"not fetched anew as gone: {response and response.status}")
        if page.locator("main form, main input, main textarea").count():
            problems.append("a form")
        if page.title() not in ("Page not available", "Dydy'r dudalen ddim ar gael"):
            problems.append(f"the title {page.title()!r}")
        found[page.url.removeprefix(base_url)] = problems
    return found


def context(browser: Any, way: str) -> Any:
    return browser.new_context(java_script_enabled=way != "link without javascript")


@pytest.mark.parametrize("way", WAYS_OUT)
def test_back_after_leaving_a_question_shows_nothing_of_the_service(browser, base_url, live_app, way):
    opened = context(browser, way)
    page = opened.new_page()
    try:
        come_in_from_another_site(page, base_url, f"/feedback/{SERVICE}")
        user = ServiceUserPage(page, base_url)
        assert user.path == f"{user.base}/consent"  # the address given is a door, the page is behind it
        user.consent("store").answer("4").choose("no")  # the second answer chosen, not yet sent
        leave(page, live_app, way)
        shown = what_back_shows(page, base_url, live_app)
        assert shown and all(problems == [] for problems in shown.values()), shown
    finally:
        opened.close()


@pytest.mark.parametrize("way", WAYS_OUT)
def test_back_after_leaving_past_pages_that_answered_a_post_shows_nothing(browser, base_url, live_app, way):
    """The "what happens because of your answer" page answers a POST: Back must not send it again to any effect."""
    opened = context(browser, way)
    page = opened.new_page()
    try:
        come_in_from_another_site(page, base_url, f"/feedback/{SERVICE}")
        user = ServiceUserPage(page, base_url)
        user.consent("store").walk_to("/section/safety")
        user.continue_section().answer("no")  # "Do you feel safe right now?"
        assert user.on_signpost()
        user.carry_on().answer(TYPED[0])
        user.write(TYPED[1])  # typed, not sent
        leave(page, live_app, way)
        shown = what_back_shows(page, base_url, live_app)
        assert shown and all(problems == [] for problems in shown.values()), shown
    finally:
        opened.close()


@pytest.mark.parametrize("way", WAYS_OUT)
def test_back_after_leaving_the_start_page_shows_nothing(browser, base_url, live_app, way):
    """The most likely moment to panic: on the very first page."""
    opened = context(browser, way)
    page = opened.new_page()
    try:
        come_in_from_another_site(page, base_url, f"/feedback/{SERVICE}")
        leave(page, live_app, way)
        shown = what_back_shows(page, base_url, live_app)
        assert all(problems == [] for problems in shown.values()), shown
        assert page.url == MAIL  # Back reaches where the person came from, through nothing but the neutral page
    finally:
        opened.close()


@pytest.mark.parametrize("way", WAYS_OUT)
def test_back_after_coming_in_by_the_front_page_and_a_code_shows_nothing(browser, base_url, live_app, way):
    """The front page and the code form name services and helplines: they are behind doors too."""
    from tests.browser.test_front_and_code_pages import short_code

    code = short_code(live_app)
    opened = context(browser, way)
    page = opened.new_page()
    try:
        come_in_from_another_site(page, base_url, "/")
        user = ServiceUserPage(page, base_url)
        assert user.path == "/start"
        user.submit("#have-a-code")
        assert user.path == "/feedback/code/enter"
        page.fill("#code", code)
        user.submit("main form button[type=submit]")
        assert user.path == f"{user.base}/consent"
        user.consent("store")  # on the first question
        leave(page, live_app, way)
        # Back: the question, the consent page, the code form, then the front page's list.
        shown = what_back_shows(page, base_url, live_app, times=4)
        assert {"/start", "/feedback/code/enter", f"{user.base}/consent"} <= set(shown), shown
        assert all(problems == [] for problems in shown.values()), shown
    finally:
        opened.close()


@pytest.mark.parametrize("way", WAYS_OUT)
def test_back_after_leaving_a_receipt_shows_nothing(browser, base_url, live_app, way):
    code, _ = give(live_app.test_client(), {"anything_else": TYPED[0]})
    opened = context(browser, way)
    page = opened.new_page()
    try:
        come_in_from_another_site(page, base_url, f"{RECEIPT_BASE}/")
        user = ServiceUserPage(page, base_url).open_receipt(code)
        assert TYPED[0] in page.content()
        user.submit(f"main a[href$='{RECEIPT_BASE}/yours/add']")
        leave(page, live_app, way)
        shown = what_back_shows(page, base_url, live_app)
        assert shown and all(problems == [] for problems in shown.values()), shown
    finally:
        opened.close()


def test_the_check_would_notice_the_service(browser, base_url, live_app):
    """Planted: a page of the service reached by Back is reported."""
    page = browser.new_page()
    try:
        ServiceUserPage(page, base_url).start()
        page.goto(base_url + "/health")
        shown = what_back_shows(page, base_url, live_app, times=1)
        assert shown[f"/feedback/{SERVICE}/consent"] != []
    finally:
        page.close()


@pytest.mark.parametrize("language", ["en", "cy"])
def test_staying_safe_and_the_neutral_page_have_no_axe_violations(page, base_url, live_app, language):
    user = ServiceUserPage(page, base_url).start()
    if language != "en":
        user.switch_language(language)
    user.submit("#staying-safe")
    found = {"staying safe online": axe_violations(page)}
    user.back()
    assert user.path == f"{user.base}/consent"
    leave(page, live_app, "button")
    user.go(f"{user.base}/q/treated")
    assert page.get_attribute("html", "lang") == "en"  # the language went with the session
    found["neutral"] = axe_violations(page)
    assert {name: problems for name, problems in found.items() if problems} == {}
