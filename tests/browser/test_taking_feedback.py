"""A caseworker takes feedback by phone in real Chromium: chooses the channel and Welsh, reads out the consent
text and records the person's answers to it, asks the questions (skipping some), reads out the receipt code; then
marks failure demand on the case and says what got in the way. Every page passes axe and fits a phone."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from casefeedback.policy.consent_text import consent_script
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import alerts, failure_demand, staff_voice, submission_channels, submissions
from tests.browser.conftest import serve
from tests.browser.staff import World, check, error_state, sign_in, submit
from tests.casework.support import Person, new_case
from tests.conftest import StaffFactory, canary

pytestmark = pytest.mark.browser
# Set to a directory to keep a screenshot of each page at 375 and 1280 px (for people to look at).
SHOTS = os.environ.get("CASEFEEDBACK_SCREENSHOTS")


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from serve(Path(tmp_path_factory.mktemp("taking")) / "instance")


def _shot(page: Any, name: str) -> None:
    if not SHOTS:
        return
    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(Path(SHOTS) / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_a_caseworker_takes_feedback_by_phone_in_welsh(browser: Any, live_app: Any) -> None:
    found: Services = live_app.extensions["casefeedback"]
    world = World(live_app, str(live_app.config["LIVE_URL"]), found)
    staff_id, username, password = StaffFactory(found)("caseworker", team="North", username="cara")
    case_id = new_case(found, Person(staff_id, username, password, "caseworker", live_app.test_client()), "VS-2001")
    words = canary()
    problems: dict[str, list[str]] = {}
    page = browser.new_context().new_page()
    page.set_default_timeout(10000)
    sign_in(page, world, username, password)

    page.goto(f"{world.base}/casework/cases/{case_id}")
    page.click(f"a[href='/casework/take?case={case_id}']")
    check(page, "take: step 1", problems)
    _shot(page, "take-1-start")
    submit(page, "form[action$='/casework/take/consent']")  # nothing chosen: refused with a message
    error_state(page, "take: step 1, nothing chosen", problems)
    page.check("input[name=channel][value=phone]")
    page.check("input[name=language][value=cy]")
    submit(page, "form[action$='/casework/take/consent']")
    assert "/casework/take/consent" in page.url
    read_out = page.locator(".read-out").first.inner_text()
    assert "Hoffwn i ofyn" in read_out and page.locator(".read-out[lang=cy]").count() >= 1
    check(page, "take: consent", problems)
    _shot(page, "take-2-consent")
    submit(page, "form[action$='/casework/take/questions']")  # no answers recorded: refused
    error_state(page, "take: consent, nothing recorded", problems)
    page.check("#choice_store-0")  # yes
    page.check("#choice_contact_me-1")  # no
    page.check("#choice_share_insight-0")  # yes
    submit(page, "form[action$='/casework/take/questions']")
    check(page, "take: questions", problems)
    _shot(page, "take-3-questions")
    page.check("input[name=answer_treated][value='2']")
    page.check("input[name=answer_safe_now][value=no]")
    page.fill("#answer_anything_else", f"Mae {words} yn dal i ddigwydd")
    submit(page, "form[action$='/casework/take/send']")
    code = page.locator(".receipt-code").inner_text().strip()
    assert len(code.replace("-", "")) == 20
    check(page, "take: done", problems)
    _shot(page, "take-4-done")
    submit(page, "form[action$='/casework/take/send-code']")  # no address: refused with a message
    error_state(page, "take: send code, empty", problems)
    _shot(page, "take-5-send-code-error")

    with read(found.engine) as connection:
        channel = connection.execute(select(submission_channels)).one()
        stored = connection.execute(select(submissions)).one()
        raised = set(connection.execute(select(alerts.c.rule_id)).scalars())
    assert channel.consent_text == consent_script(found.policies.services["victim-support"], "cy")
    assert (channel.channel, channel.recorded_by, stored.case_id) == ("phone", staff_id, case_id)
    assert raised == {"unsafe-now", "treated-badly"}

    # The case page shows how it came; failure demand and what got in the way, from there.
    page.goto(f"{world.base}/casework/cases/{case_id}")
    assert "Phone" in page.locator(".feedback-list").inner_text()
    _shot(page, "case-with-channel")
    page.click(f"a[href='/casework/cases/{case_id}/failure-demand']")
    check(page, "failure demand", problems)
    _shot(page, "failure-demand")
    page.check("input[name=category][value=chasing_progress]")
    page.select_option("#channel", "phone")
    submit(page, "form[action$='/failure-demand']")
    assert page.url.endswith(f"/casework/cases/{case_id}")
    page.goto(f"{world.base}/casework/what-got-in-the-way")
    check(page, "what got in the way", problems)
    _shot(page, "staff-voice")
    page.check("input[name=category][value=handoffs]")
    page.check("input[name=impact][value=partly]")
    submit(page, "form[action$='/casework/what-got-in-the-way']")
    assert page.locator(".notification-banner--success").count() == 1
    page.context.close()
    with read(found.engine) as connection:
        assert len(connection.execute(select(failure_demand)).all()) == 1
        assert len(connection.execute(select(staff_voice)).all()) == 1
    assert words.encode() not in found.config.database_path.read_bytes()
    report = "\n".join(f"- {label}\n    " + "\n    ".join(found) for label, found in sorted(problems.items()))
    assert not problems, f"{len(problems)} pages with problems:\n{report}"
