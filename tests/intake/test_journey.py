"""One thing per page: progress, Back that keeps answers, skipping, content warnings, check, confirmation."""

from __future__ import annotations

import re

import pytest

from tests.helpers import ServiceUser, location

BASE = "/feedback/victim-support"


@pytest.fixture
def user(client) -> ServiceUser:
    person = ServiceUser(client)
    person.consent("store")
    return person


def html(response) -> str:
    return response.get_data(as_text=True)


def test_consent_leads_to_the_first_question_alone_with_its_progress(client, user):
    page = html(client.get(f"{BASE}/q/treated"))
    assert "Question 1 of 8" in page and "How we helped you" in page
    assert page.count("<fieldset") == 1 and page.count("<h1") == 1  # one thing on the page
    assert "Overall, how well did we treat you?" in page and "Did you feel that we listened" not in page
    assert "<title>Feedback</title>" in page  # neutral: never the question
    assert f'<a class="back-link" href="{BASE}" id="back-link">Back</a>' in page
    assert page.count('name="answer" type="radio"') == 0 and page.count('type="radio"') == 6  # 1-5 and PNTS


@pytest.mark.parametrize("question_id", ["treated", "listened", "informed", "easy_to_reach", "chased",
                                         "safe_now", "safer", "anything_else"])
def test_every_question_can_be_skipped_and_offers_prefer_not_to_say_where_the_policy_says(client, user,
                                                                                        found, question_id):
    question = found.policies.service("victim-support").question(question_id)
    page = html(client.get(f"{BASE}/q/{question_id}"))
    assert '<button type="submit" name="action" value="skip" class="button button-secondary">' \
           "Skip this question</button>" in page
    assert ('value="prefer_not_to_say"' in page) == question.prefer_not_to_say
    assert "Save and come back later" in page


def test_continue_skip_and_back_keep_every_answer(client, user):
    assert location(user.answer_question("treated", "4")) == f"{BASE}/q/listened"
    assert location(user.skip("listened")) == f"{BASE}/q/informed"
    # Back from "informed" with an answer chosen: it is saved, then the previous question shows.
    assert location(user.back("informed", "sometimes")) == f"{BASE}/q/listened"
    assert 'value="4" checked' in html(client.get(f"{BASE}/q/treated"))
    assert "checked" not in html(client.get(f"{BASE}/q/listened"))  # skipped: nothing chosen
    assert 'value="sometimes" checked' in html(client.get(f"{BASE}/q/informed"))
    # Back with nothing chosen on a question never reached does not count as skipping it.
    user.back("easy_to_reach")
    check = html(user.check_answers())
    assert re.search(r"Was it easy to get in touch.*?</dt>\s*<dd[^>]*>Not answered</dd>", check, re.S)
    assert re.search(r"Did you feel that we listened to you\?</dt>\s*<dd[^>]*>Skipped</dd>", check)


def test_continue_with_nothing_chosen_is_skipping_not_an_error(user):
    response = user.answer_question("treated", None)
    assert response.status_code == 303 and location(response) == f"{BASE}/q/listened"


def test_prefer_not_to_say_is_an_answer_of_its_own(user):
    user.answer_question("listened", "prefer_not_to_say")
    check = html(user.check_answers())
    assert re.search(r"listened to you\?</dt>\s*<dd[^>]*>Prefer not to say</dd>", check)


def test_a_content_warning_comes_before_the_sensitive_section(client, user):
    response = user.answer_question("chased", "no")
    assert location(response) == f"{BASE}/section/safety"
    page = html(client.get(f"{BASE}/section/safety"))
    assert "Your safety" in page and "The next questions ask about your safety" in page
    assert "Content warning:" in page and "This part has 2 questions" in page
    assert "Skip this part" in page and "Continue to these questions" in page
    assert f'href="{BASE}/q/chased"' in page  # Back
    assert location(user.section("safety")) == f"{BASE}/q/safe_now"
    assert f'href="{BASE}/section/safety" id="back-link"' in html(client.get(f"{BASE}/q/safe_now"))


def test_skipping_the_whole_section(client, user):
    user.answer_question("safe_now", "yes")
    response = user.section("safety", action="skip_section")
    assert location(response) == f"{BASE}/q/anything_else"
    check = html(user.check_answers())
    assert re.search(r"safe right now\?</dt>\s*<dd[^>]*>Skipped</dd>", check)  # an earlier answer goes too
    assert re.search(r"feel safer\?</dt>\s*<dd[^>]*>Skipped</dd>", check)


def test_sections_that_are_not_sensitive_have_no_warning_page(client, user):
    assert client.get(f"{BASE}/section/experience").status_code == 404
    assert location(user.answer_question("treated", "5")) == f"{BASE}/q/listened"


def test_check_your_answers_lists_everything_with_change_links(client, user):
    user.answer_all({"treated": "2", "informed": "no", "anything_else": "Line one\nLine two"})
    page = html(user.check_answers())
    assert "Check your answers before sending them" in page
    for question_id in ("treated", "listened", "informed", "easy_to_reach", "chased", "safe_now", "safer",
                        "anything_else"):
        assert f'href="{BASE}/q/{question_id}?change=1"' in page
    assert re.search(r"treat you\?</dt>\s*<dd[^>]*>2</dd>", page)
    assert re.search(r"with your case\?</dt>\s*<dd[^>]*>No</dd>", page)
    assert "Line one\nLine two" in page and 'class="summary-value summary-text"' in page
    assert "Keep my answers so the people helping me can read them" in page and f'href="{BASE}"' in page
    # Change goes back to Check your answers, not on through the questions.
    changed = user.answer_question("informed", "yes", change=True)
    assert changed.status_code in (200, 303)
    assert location(changed) == f"{BASE}/check"
    assert f'href="{BASE}/check" id="back-link"' in html(client.get(f"{BASE}/q/informed?change=1"))
    assert re.search(r"with your case\?</dt>\s*<dd[^>]*>Yes</dd>", html(user.check_answers()))


def test_the_confirmation_shows_the_receipt_once_and_forgets_the_journey(client, user):
    user.answer_all({"treated": "5"})
    response = user.send()
    page = html(response)
    assert response.status_code == 200
    assert "Thank you – your feedback has been sent" in page and 'class="receipt-code"' in page
    assert "<title>Feedback</title>" in page and "Cymraeg" not in page  # no switcher to lose the code by
    assert client.get(f"{BASE}/check").status_code == 303  # the session no longer holds a draft


def test_carry_on_goes_to_the_first_question_not_reached(client, user):
    user.answer_question("treated", "3")
    user.skip("listened")
    assert location(client.get(f"{BASE}/questions")) == f"{BASE}/q/informed"
    for question_id in ("informed", "easy_to_reach", "chased"):
        user.skip(question_id)
    # Into a sensitive section: through its warning again.
    assert location(client.get(f"{BASE}/questions")) == f"{BASE}/section/safety"
    user.answer_question("safe_now", "yes")
    assert location(client.get(f"{BASE}/questions")) == f"{BASE}/section/safety?at=safer"
    assert location(user.post(f"{BASE}/section/safety?at=safer", {"action": "continue"})) == f"{BASE}/q/safer"
    user.skip("safer")
    user.skip("anything_else")
    assert location(client.get(f"{BASE}/questions")) == f"{BASE}/check"


def test_going_back_from_the_first_question_returns_to_the_choices(client, user):
    assert location(user.back("treated")) == BASE
    assert "You have saved answers already" in html(client.get(BASE, follow_redirects=True))
