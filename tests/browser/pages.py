"""Page objects for the browser tests: a person giving feedback, through the real pages, in a real browser.

Selectors never depend on the words on the page (they are in English or Welsh):
they use the form actions, the `name`/`value` of buttons and the ids the
templates give. The helpers shared by every browser test (axe, quick exit,
overflow) live here too, so the test modules stay short.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # playwright is imported lazily by conftest, which skips when it is missing
    from playwright.sync_api import Page

SERVICE = "victim-support"
RECEIPT_BASE = "/feedback/receipt"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CODE = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4})+$")


# --- checks every page gets --------------------------------------------------

def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.0/2.1/2.2 A and AA rules, run on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    return [f"{v['id']}: {v['help']} ({[n['target'] for n in v['nodes']]})" for v in results.response["violations"]]


def horizontal_overflow(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def exit_url(live_app: Any) -> str:
    return str(live_app.extensions["casefeedback"].policies.service(SERVICE).exit_url)


def watch_exit(page: Page, live_app: Any) -> list[str]:
    """Record navigations to the neutral site, and answer them with a blank page (this machine is offline)."""
    target = exit_url(live_app)
    visited: list[str] = []

    def neutral_site(route: Any) -> None:
        visited.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>Weather</title><p>Weather</p>")

    page.route(target + "**", neutral_site)
    return visited


def wait_for_exit(page: Page, visited: list[str]) -> None:
    for _ in range(50):
        if visited:
            page.wait_for_url(visited[0])
            return
        page.wait_for_timeout(100)
    raise AssertionError("the page did not go to the neutral site")


FOCUS_SHOWN = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  return outline || (style.boxShadow && style.boxShadow !== 'none');
}"""


# --- the person giving feedback ----------------------------------------------

class ServiceUserPage:
    """A person giving feedback in the browser: clicks, fills and reads what a sighted mouse user would."""

    def __init__(self, page: Page, base_url: str, service: str = SERVICE) -> None:
        self.page = page
        self.base_url = base_url
        self.base = f"/feedback/{service}"

    # where we are

    def go(self, path: str) -> ServiceUserPage:
        self.page.goto(self.base_url + path)
        return self

    @property
    def path(self) -> str:
        return self.page.url.removeprefix(self.base_url)

    def question_id(self) -> str | None:
        found = re.search(r"/q/([^/?]+)", self.path)
        return found.group(1) if found else None

    def on_section_warning(self) -> bool:
        return "/section/" in self.path

    def on_check_page(self) -> bool:
        return self.path.startswith(f"{self.base}/check")

    def on_signpost(self) -> bool:
        return self.page.locator("a.button[href]").count() > 0 and self.question_id() is not None

    def has_error_summary(self) -> bool:
        return self.page.locator(".error-summary").count() > 0

    def submit(self, selector: str) -> None:
        """Press a button or follow a link that loads a new page."""
        with self.page.expect_navigation():
            self.page.click(selector)

    # start and consent

    def start(self) -> ServiceUserPage:
        return self.go(self.base)

    def switch_language(self, code: str) -> ServiceUserPage:
        self.submit(f".language-switcher a[hreflang={code}]")
        assert self.page.get_attribute("html", "lang") == code
        return self

    def consent(self, *choices: str) -> ServiceUserPage:
        """Tick the given choices on the consent page (nothing else) and continue."""
        for box in self.page.locator(".checkbox input[type=checkbox]").all():
            box.set_checked((box.get_attribute("name") or "").removeprefix("choice_") in choices)
        self.submit(f"form[action$='{self.base}/consent'] button[name=action][value=continue]")
        return self

    def decline(self) -> ServiceUserPage:
        """Press "I do not want to give feedback": declining is its own button, never an unticked box."""
        self.submit(f"form[action$='{self.base}/consent'] button[name=action][value=decline]")
        return self

    # one question

    def choose(self, value: str) -> ServiceUserPage:
        self.page.check(f"input[name=answer][value='{value}']")
        return self

    def write(self, text: str) -> ServiceUserPage:
        self.page.fill("textarea#answer", text)
        return self

    def press(self, action: str) -> ServiceUserPage:
        """continue, skip, save (the buttons in a question's form), continue or skip_section on a warning."""
        self.submit(f"main form button[name=action][value={action}]")
        return self

    def answer(self, value: str | list[str]) -> ServiceUserPage:
        """Answer the question on this page (a choice's value, or text) and continue."""
        if self.page.locator("textarea#answer").count():
            self.write(str(value))
        else:
            for each in [value] if isinstance(value, str) else value:
                self.choose(each)
        return self.press("continue")

    def skip(self) -> ServiceUserPage:
        return self.press("skip")

    def prefer_not_to_say(self) -> ServiceUserPage:
        return self.answer("prefer_not_to_say")

    def back(self) -> ServiceUserPage:
        self.submit("#back-link")
        return self

    def carry_on(self) -> ServiceUserPage:
        """From a "what happens because of your answer" page, to the next question."""
        self.submit("main a.button")
        return self

    def continue_section(self) -> ServiceUserPage:
        return self.press("continue")

    def skip_section(self) -> ServiceUserPage:
        return self.press("skip_section")

    def chosen(self) -> list[str]:
        """What the page shows as already answered (Back and Change keep answers)."""
        if self.page.locator("textarea#answer").count():
            return [self.page.input_value("textarea#answer")]
        return [box.get_attribute("value") or "" for box in self.page.locator("input[name=answer]:checked").all()]

    def answer_all(self, answers: dict[str, str | list[str]]) -> ServiceUserPage:
        """From wherever the journey is, answer what is given, skip the rest, continue past warnings and
        "what happens" pages, until "Check your answers". The order is the app's, not ours."""
        for _ in range(60):
            if self.on_check_page():
                return self
            if self.on_section_warning():
                self.continue_section()
            elif self.on_signpost():
                self.carry_on()
            elif (question := self.question_id()) in answers:
                self.answer(answers[question])
            else:
                self.skip()
        raise AssertionError(f"the journey did not reach Check your answers (stuck at {self.path})")

    def walk_to(self, path_part: str) -> ServiceUserPage:
        """Skip questions (continuing past warnings) until the page's address contains ``path_part``."""
        for _ in range(60):
            if path_part in self.path:
                return self
            if self.on_section_warning():
                self.continue_section()
            elif self.on_check_page():
                break
            else:
                self.skip()
        raise AssertionError(f"did not reach {path_part} (stuck at {self.path})")

    # check, send, confirmation

    def change(self, number: int) -> ServiceUserPage:
        """Follow the Change (or Answer) link of question ``number`` on "Check your answers"."""
        self.submit(f".summary-actions a[href*='change=1'] >> nth={number - 1}")
        return self

    def check_value(self, number: int) -> str:
        return self.page.locator(".summary-list").first.locator(".summary-value").nth(number - 1).inner_text()

    def send(self) -> str:
        """Send from "Check your answers"; return the receipt code the confirmation shows."""
        self.submit(f"form[action$='{self.base}/send'] button[type=submit]")
        return self.shown_code()

    def shown_code(self) -> str:
        code = self.page.inner_text(".receipt-code").strip()
        assert CODE.match(code), f"not a code: {code!r}"
        return code

    # stopping and coming back

    def save_for_later(self) -> ServiceUserPage:
        return self.press("save")

    def get_resume_code(self) -> str:
        self.submit("form[action$='/save'] button[value=code]")
        return self.shown_code()

    def delete_answers(self) -> ServiceUserPage:
        self.submit("form[action$='/save'] button[value=delete]")
        return self

    def resume(self, code: str) -> ServiceUserPage:
        self.start().submit(f"main a[href$='{self.base}/resume']")
        self.page.fill("#code", code)
        self.submit(f"form[action$='{self.base}/resume'] button[type=submit]")
        return self

    # the receipt

    def open_receipt(self, code: str) -> ServiceUserPage:
        """Type the receipt code on the receipt's start page (the page must be open already)."""
        self.page.fill("#code", code)
        self.submit(f"form[action$='{RECEIPT_BASE}/check'] button[type=submit]")
        return self
