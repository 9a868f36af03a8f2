"""When an answer meets an alert rule, the next page says what will happen and how to get help now."""

from __future__ import annotations

import re

from tests.helpers import ServiceUser, location
from tests.intake.test_leaving_and_invitations import invitation

BASE = "/feedback/victim-support"
POLICY_MESSAGE = "Thank you for telling us. We will tell our team straight away."


def text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def session_of(app, client) -> dict:
    cookie = client.get_cookie("casefeedback")
    return dict(app.session_interface.get_signing_serializer(app).loads(cookie.value)) if cookie else {}


def test_feeling_unsafe_is_met_with_what_will_happen_and_help_now(app, client):
    user = ServiceUser(client)
    user.consent("store")
    response = user.answer_question("safe_now", "no")
    page = text(response)
    assert response.status_code == 200  # this page, in answer to the post: nothing about it is stored
    assert POLICY_MESSAGE in page
    assert "Nothing is passed on until you send your answers at the end" in page
    # Anonymous feedback has no caseworker: only the relations that exist without a case are promised.
    assert "When you send your answers, we will tell the duty manager straight away." in page
    assert "your caseworker" not in page
    assert "We do not know who you are, so we cannot contact you about this." in page
    assert "If you are in danger now, call 999." in page and "116 123" in page
    assert f'<a href="{BASE}/q/safer" class="button"' in page  # Continue: on to the next question
    assert f'href="{BASE}/check"' in page  # or straight to the end to send now
    assert "<title>Feedback</title>" in page
    assert set(session_of(app, client)) <= {"intake", "csrf_token", "language"}
    assert "unsafe" not in str(session_of(app, client))


def test_with_a_case_the_caseworker_is_told_first_then_each_in_turn(app, found, staff_factory):
    owner_id, *_ = staff_factory()
    person = app.test_client()
    person.get(f"/feedback/i/{invitation(found, owner_id)}")
    user = ServiceUser(person)
    user.consent("store")
    page = text(user.answer_question("safe_now", "no"))
    assert "When you send your answers, we will tell your caseworker straight away." in page
    assert ("If nobody has responded within 15 minutes, we will also tell the next person on this list, and then "
            "the next, one more each 15 minutes:") in page
    assert re.search(r"<ol>\s*<li>the caseworker who covers for them</li>\s*<li>their supervisor</li>\s*"
                     r"<li>the duty manager</li>\s*</ol>", page)
    assert "We do not know who you are" not in page


def test_an_answer_that_meets_no_rule_goes_straight_on(client):
    user = ServiceUser(client)
    user.consent("store")
    assert location(user.answer_question("safe_now", "yes")) == f"{BASE}/q/safer"
    assert location(user.answer_question("treated", "3")) == f"{BASE}/q/listened"


def test_a_low_score_and_words_of_danger_are_signposted_too(client):
    user = ServiceUser(client)
    user.consent("store")
    low = text(user.answer_question("treated", "1"))
    assert "A manager will look at what you told us." in low
    assert f'<a href="{BASE}/q/listened" class="button"' in low
    words = text(user.answer_question("anything_else", "I want to end it all"))
    assert "You can call Samaritans free on 116 123." in words


def test_check_and_confirmation_pages_say_it_again(client):
    user = ServiceUser(client)
    user.consent("store")
    check = text(user.answer_all({"safe_now": "no", "treated": "5"}))
    assert "What will happen when you send them" in check and POLICY_MESSAGE in check
    done = text(user.send())
    assert "What happens next" in done and POLICY_MESSAGE in done
    assert "We are telling the duty manager now." in done and "call 999" in done


def test_changing_the_answer_takes_the_notice_away(client):
    user = ServiceUser(client)
    user.consent("store")
    user.answer_question("safe_now", "no")
    user.answer_question("safe_now", "yes", change=True)
    assert "What will happen when you send them" not in text(user.check_answers())


def test_two_rules_met_each_say_their_part_and_what_holds_for_both_is_said_once(client):
    """Feeling unsafe and a very low score meet two rules: the check page and the receipt page give each rule's
    message and who is told, and say the lines both share ("we do not know who you are", "nothing is passed
    on until you send") once, not once per rule."""
    user = ServiceUser(client)
    user.consent("store")
    check = text(user.answer_all({"treated": "1", "safe_now": "no"}))
    assert POLICY_MESSAGE in check and "A manager will look at what you told us." in check
    assert check.count("When you send your answers, we will tell the duty manager straight away.") == 1
    for shared in ("Nothing is passed on until you send your answers at the end",
                   "We do not know who you are, so we cannot contact you about this.",
                   "Your feedback is not linked to a caseworker, so nobody can pass this on to one for you."):
        assert check.count(shared) == 1, shared
    done = text(user.send())
    assert "We are telling the duty manager now." in done and "A manager will look at what you told us." in done
    assert done.count("We do not know who you are, so we cannot contact you about this.") == 1
    assert "Nothing is passed on until you send" not in done  # sent: it has been
