"""The exit bar on a 320 × 568 phone: one line (at most 56 px), and never over a focused element.

WCAG 2.2's 2.4.11 (Focus Not Obscured), which axe does not test: tabbing
backwards through "Check your answers" once left links wholly under a sticky
bar that took a quarter of the screen. Every public page is tabbed through in
both directions, in English and in Welsh (whose words are longer).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.pages import RECEIPT_BASE, ServiceUserPage
from tests.receipts.receipt_holder import give

pytestmark = pytest.mark.browser

PHONE = {"width": 320, "height": 568}
MOST = 56  # px: one line of the bar on a phone

# Where the focused element is, against the bar; null when nothing (or the bar's own links) has focus.
FOCUSED = """() => {
  const el = document.activeElement;
  const bar = document.querySelector('.exit-bar');
  if (!el || el === document.body || el === document.documentElement || bar.contains(el)) return null;
  if (el.classList.contains('skip-link')) return null;  // shown on top of the bar, by design
  const a = el.getBoundingClientRect(), b = bar.getBoundingClientRect();
  const name = (el.id ? '#' + el.id : el.tagName.toLowerCase()) + ' "' +
    (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40) + '"';
  return {name: name, covered: a.top < b.bottom && a.bottom > b.top && a.left < b.right && a.right > b.left,
          top: Math.round(a.top), barBottom: Math.round(b.bottom)};
}"""


def bar_height(page: Any) -> float:
    return float(page.evaluate("document.querySelector('.exit-bar').getBoundingClientRect().height"))


def covered_while_tabbing(page: Any, key: str) -> tuple[list[str], int]:
    """Tab (or Shift+Tab) through the whole page; the focused elements the bar covered, and how many were met."""
    page.evaluate("window.scrollTo(0, %s)" % ("0" if key == "Tab" else "document.body.scrollHeight"))
    page.evaluate("document.activeElement && document.activeElement.blur()")
    covered: list[str] = []
    seen: list[str] = []
    for _ in range(120):
        page.keyboard.press(key)
        where = page.evaluate(FOCUSED)
        if where is None:
            if seen and page.evaluate("document.activeElement === document.body"):
                break  # past the last element
            continue
        if seen and where["name"] == seen[0]:
            break  # round again
        seen.append(where["name"])
        if where["covered"]:
            covered.append(f"{where['name']} at {where['top']} px, under a bar ending at {where['barBottom']} px")
    return covered, len(seen)


def public_pages(user: ServiceUserPage, app: Any) -> Iterator[str]:
    """Every kind of public page, reached as a person would (the receipt with a code given beforehand)."""
    code, _ = give(app.test_client(), {"treated": "4", "listened": "no", "safer": "A lock on the door",
                                       "anything_else": "Thank you"}, ("store", "contact_me"))
    yield "start and consent"
    user.submit("#staying-safe")
    yield "staying safe online"
    user.back().consent("store", "contact_me")
    yield "a question"
    user.walk_to("/section/safety")
    yield "a section warning"
    user.continue_section().answer_all({"safer": "A lock on the door", "anything_else": "Thank you"})
    yield "check your answers"
    user.go(f"{user.base}/save")
    yield "save"
    user.go(f"{user.base}/resume")
    yield "resume"
    user.go(f"{RECEIPT_BASE}/")
    yield "receipt: the code"
    user.open_receipt(code)
    yield "receipt: what you gave"
    for name in ("add", "contact", "withdraw"):
        user.go(f"{RECEIPT_BASE}/yours/{name}")
        yield f"receipt: {name}"


@pytest.mark.parametrize("language", ["en", "cy"])
def test_the_exit_bar_is_one_line_and_covers_no_focused_element_at_320_pixels(page, base_url, live_app, language):
    page.set_viewport_size(PHONE)
    user = ServiceUserPage(page, base_url).start()
    if language != "en":
        user.switch_language(language)
    problems: dict[str, list[str]] = {}
    for name in public_pages(user, live_app):
        assert page.get_attribute("html", "lang") == language, name
        found = problems.setdefault(name, [])
        if (height := bar_height(page)) > MOST:
            found.append(f"the bar is {height:.0f} px tall")
        for key in ("Tab", "Shift+Tab"):
            covered, met = covered_while_tabbing(page, key)
            assert met >= 2, f"{name}: {key} reached only {met} elements"
            found += [f"{key}: {c}" for c in covered]
    assert {name: found for name, found in problems.items() if found} == {}


def test_the_check_would_notice_a_covered_link(page, base_url):
    """The planted fault the issue found: a tall sticky bar and no scroll padding."""
    page.set_viewport_size(PHONE)
    ServiceUserPage(page, base_url).start()
    page.evaluate("document.documentElement.style.scrollPaddingTop = '0px';"
                  "document.querySelector('.exit-bar').style.minHeight = '146px'")
    covered, _ = covered_while_tabbing(page, "Shift+Tab")
    assert covered
