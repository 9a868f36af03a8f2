"""The consent page's promises, as real Chromium shows them: for each class, how long it is kept, after what,
and who can read it — for feedback through a caseworker's invitation and for anonymous feedback, in English
and in Welsh, checked against the policy's effective rules (the same check as tests/intake/test_consent_wording.py,
on the page a person's browser actually rendered)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.pages import ServiceUserPage
from tests.browser.test_consent_mistap import invited
from tests.intake.test_consent_wording import assert_page_follows_the_policy


@pytest.mark.parametrize("language", ["en", "cy"])
@pytest.mark.parametrize("linked", [True, False], ids=["invitation", "anonymous"])
def test_the_consent_page_in_the_browser_states_the_effective_rules(page, base_url, live_app: Any, linked: bool,
                                                                    language: str) -> None:
    page.set_viewport_size({"width": 320, "height": 640})
    ServiceUserPage(page, base_url).go(invited(live_app) if linked else "/feedback/victim-support")
    if language == "cy":
        page.click("text=Cymraeg")
    assert page.locator("html").get_attribute("lang") == language
    policy = live_app.extensions["casefeedback"].policies.service("victim-support")
    assert_page_follows_the_policy(page.content(), policy, linked, language)
