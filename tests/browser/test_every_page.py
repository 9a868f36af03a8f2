"""Every intake and receipt page, reached through the real journey: no axe violations (English and Welsh,
error states included), usable at 320 px wide, and Shift pressed three times leaves from each intake page.

One app serves the whole module (starting one per test would cost more than the
tests); each test still has its own browser context, so its own session, draft
and language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import serve
from tests.browser.pages import (
    RECEIPT_BASE,
    ServiceUserPage,
    axe_violations,
    horizontal_overflow,
    wait_for_exit,
    watch_exit,
)
from tests.receipts.receipt_holder import give

pytestmark = pytest.mark.browser

Reach = Callable[[ServiceUserPage, Any], None]


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    yield from serve(Path(tmp_path_factory.mktemp("every-page")) / "instance")


# --- how a person reaches each page (starting on the consent page, in their language) ---

def consent(user: ServiceUserPage, _app: Any) -> None:
    assert user.path == f"{user.base}/consent"  # behind the service's address, a door


def declined(user: ServiceUserPage, _app: Any) -> None:
    user.decline()


def consent_with_an_error(user: ServiceUserPage, _app: Any) -> None:
    user.consent()
    assert user.has_error_summary()


def rating_question(user: ServiceUserPage, _app: Any) -> None:
    user.consent("store")
    assert user.question_id() == "treated"


def choice_question(user: ServiceUserPage, _app: Any) -> None:
    user.consent("store", "contact_me").answer("4")
    assert user.question_id() == "listened"


def content_warning(user: ServiceUserPage, _app: Any) -> None:
    user.consent("store")
    user.walk_to("/section/safety")


def text_question(user: ServiceUserPage, _app: Any) -> None:
    content_warning(user, _app)
    user.continue_section().skip()
    assert user.question_id() == "safer"


def question_with_error(user: ServiceUserPage, _app: Any) -> None:
    text_question(user, _app)
    user.write("x" * 2001).press("continue")  # one character over the policy's limit
    assert user.has_error_summary() and user.chosen() == ["x" * 2001]


def question_timed_out(user: ServiceUserPage, _app: Any) -> None:
    rating_question(user, _app)
    # The form's token has expired (as after a long pause): the answer is kept and the page says so.
    user.page.eval_on_selector("input[name=csrf_token]", "el => { el.value = 'expired'; }")
    user.choose("3").press("continue")
    assert user.has_error_summary() and user.chosen() == ["3"]


def signpost(user: ServiceUserPage, _app: Any) -> None:
    content_warning(user, _app)
    user.continue_section().answer("no")  # "Do you feel safe right now?" – No
    assert user.on_signpost()


def check_answers(user: ServiceUserPage, _app: Any) -> None:
    user.consent("store").answer_all({"treated": "2", "listened": "prefer_not_to_say", "anything_else": "Thank you"})


def save(user: ServiceUserPage, _app: Any) -> None:
    rating_question(user, _app)
    user.save_for_later()


def resume_code(user: ServiceUserPage, _app: Any) -> None:
    save(user, _app)
    user.get_resume_code()


def deleted(user: ServiceUserPage, _app: Any) -> None:
    save(user, _app)
    user.delete_answers()


def resume(user: ServiceUserPage, _app: Any) -> None:
    user.submit(f"main a[href$='{user.base}/resume']")


def resume_with_error(user: ServiceUserPage, _app: Any) -> None:
    resume(user, _app)
    user.submit("main form button[type=submit]")  # no code typed
    assert user.has_error_summary()


def confirmation(user: ServiceUserPage, _app: Any) -> None:
    check_answers(user, _app)
    user.send()


def draft_gone(user: ServiceUserPage, _app: Any) -> None:
    """Sent from one tab, then Send pressed again in another."""
    user.consent("store").answer_all({})
    other = ServiceUserPage(user.page.context.new_page(), user.base_url).go(f"{user.base}/check")
    other.send()
    other.page.close()
    user.submit(f"form[action$='{user.base}/send'] button[type=submit]")


def draft_expired(user: ServiceUserPage, app: Any) -> None:
    """Answers left for longer than the policy keeps them (the app's clock moves on; it only ever goes forward)."""
    rating_question(user, app)
    user.answer("4")
    app.extensions["casefeedback"].clock.advance(days=15)
    user.go(f"{user.base}/q/listened")
    assert user.question_id() is not None and not user.page.locator("main form").count()


def not_found(user: ServiceUserPage, _app: Any) -> None:
    user.go(f"{user.base}/q/no-such-question")


def invitation_unusable(user: ServiceUserPage, _app: Any) -> None:
    user.go("/feedback/i/not-a-real-invitation")


def receipt_start(user: ServiceUserPage, _app: Any) -> None:
    user.go(f"{RECEIPT_BASE}/")


INTAKE_PAGES: dict[str, Reach] = {
    "consent": consent, "consent with an error": consent_with_an_error, "declined": declined,
    "rating question": rating_question, "choice question": choice_question, "content warning": content_warning,
    "text question": text_question,
    "question with an error": question_with_error, "question timed out": question_timed_out,
    "what happens because of your answer": signpost, "check your answers": check_answers, "save": save,
    "resume code": resume_code, "deleted": deleted, "resume": resume, "resume with an error": resume_with_error,
    "confirmation": confirmation, "draft gone": draft_gone, "draft expired": draft_expired,
    "page not found": not_found, "invitation unusable": invitation_unusable,
}


# --- axe and 320 px: each page in turn, along the journeys a person takes ---
# Walking a journey once and checking every page on the way is far quicker than
# walking to each page afresh, and reaches the same pages the same way.

def answering_journey(user: ServiceUserPage, app: Any) -> Iterator[str]:
    yield "consent"
    user.consent("store", "contact_me")
    yield "rating question"
    user.page.eval_on_selector("input[name=csrf_token]", "el => { el.value = 'expired'; }")
    user.choose("3").press("continue")
    assert user.has_error_summary()
    yield "question timed out"
    user.press("continue")
    yield "choice question"
    user.walk_to("/section/safety")
    yield "content warning"
    user.continue_section().answer("no")
    assert user.on_signpost()
    yield "what happens because of your answer"
    user.carry_on()
    yield "text question"
    user.write("x" * 2001).press("continue")
    assert user.has_error_summary()
    yield "question with an error"
    user.answer("A lock on the door").answer_all({})
    yield "check your answers"
    user.send()
    yield "confirmation"


def save_and_resume_journey(user: ServiceUserPage, app: Any) -> Iterator[str]:
    user.consent("store").save_for_later()
    yield "save"
    code = user.get_resume_code()
    yield "resume code"
    user.start().submit(f"main a[href$='{user.base}/resume']")
    yield "resume"
    user.submit("main form button[type=submit]")
    assert user.has_error_summary()
    yield "resume with an error"
    user.page.fill("#code", code)
    user.submit("main form button[type=submit]")
    user.save_for_later().delete_answers()
    yield "deleted"
    user.start().consent()
    assert user.has_error_summary()
    yield "consent with an error"
    user.decline()
    yield "declined"


def odd_ends_journey(user: ServiceUserPage, app: Any) -> Iterator[str]:
    draft_gone(user.start(), app)
    yield "draft gone"
    draft_expired(user.start(), app)
    yield "draft expired"
    not_found(user, app)
    yield "page not found"
    invitation_unusable(user, app)
    yield "invitation unusable"


def receipt_journey(user: ServiceUserPage, app: Any) -> Iterator[str]:
    code, _ = give(app.test_client(), {"treated": "4", "listened": "no", "safer": "A lock on the door",
                                       "anything_else": "Thank you"}, ("store", "contact_me"))
    receipt_start(user, app)
    yield "receipt start"
    user.open_receipt("not a code")
    assert user.has_error_summary()
    yield "receipt wrong code"
    user.open_receipt(code)
    yield "receipt overview"
    for name in ("print", "add", "contact", "withdraw"):
        user.go(f"{RECEIPT_BASE}/yours").submit(f"main a[href$='{RECEIPT_BASE}/yours/{name}']")
        yield f"receipt {name}"
    user.go(f"{RECEIPT_BASE}/yours/add").submit("main form button.button[type=submit]")
    assert user.has_error_summary()
    yield "receipt add, nothing written"
    user.page.fill("#q_anything_else", "One more thing")
    user.submit("main form button.button[type=submit]")
    yield "receipt added"
    user.go(f"{RECEIPT_BASE}/yours/contact")
    user.page.check("input[name=contact_me] >> nth=1")
    user.submit("main form button.button[type=submit]")
    yield "receipt contact saved"
    user.submit(f"form[action$='{RECEIPT_BASE}/forget'] button")
    yield "receipt forgotten"
    user.go(f"{RECEIPT_BASE}/").open_receipt(code).go(f"{RECEIPT_BASE}/yours/withdraw")
    user.submit("main form button.button-warning")
    yield "receipt withdrawn"


JOURNEYS = {"answering": answering_journey, "save and resume": save_and_resume_journey,
            "odd ends": odd_ends_journey, "receipt": receipt_journey}


@pytest.mark.parametrize("language", ["en", "cy"])
@pytest.mark.parametrize("journey", list(JOURNEYS))
def test_every_page_has_no_axe_violations_and_is_usable_at_320_pixels(page, base_url, live_app, journey, language):
    user = ServiceUserPage(page, base_url).start()
    if language != "en":
        user.switch_language(language)
    found: dict[str, list[str]] = {}
    for name in JOURNEYS[journey](user, live_app):
        assert page.get_attribute("html", "lang") == language, f"{name} is not in {language}"
        found[name] = axe_violations(page)
        page.set_viewport_size({"width": 320, "height": 640})
        if horizontal_overflow(page) > 0:
            found[name].append("wider than 320 px")
        if not page.is_visible("#exit-this-page"):
            found[name].append("no visible exit button at 320 px")
        page.set_viewport_size({"width": 1280, "height": 720})
    assert {name: problems for name, problems in found.items() if problems} == {}


@pytest.mark.parametrize("name", list(INTAKE_PAGES))
def test_shift_three_times_leaves_every_intake_page(page, base_url, live_app, name):
    user = ServiceUserPage(page, base_url).start()
    INTAKE_PAGES[name](user, live_app)
    visited = watch_exit(page, live_app)
    before = page.evaluate("history.length")
    for _ in range(3):
        page.keyboard.press("Shift")
    wait_for_exit(page, visited)
    # The feedback page was replaced, not left behind in the history...
    assert page.evaluate("history.length") == before
    # ...and the draft was forgotten: carrying on finds only the neutral page, and the start nothing filled in.
    user.go(f"{user.base}/questions")
    assert "This page is no longer available" in page.inner_text("main") and not page.locator("main form").count()
    user.start()
    assert user.path == f"{user.base}/consent" and not page.locator("input[type=checkbox]:checked").count()
