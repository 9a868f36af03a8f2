"""Each helpline is shown once per page: a frightened person on a small screen should not scroll past the
same numbers two or three times to reach the button they need.

The pages that give help in their body ("what happens because of your answer", the confirmation after an
alert, declining) used to show the layout's helpline footer as well. The policy's own alert message may name a
number in its words (``alerts.message``: the service's wording, not the list); it is left out of the count.
"""

from __future__ import annotations

import re

import pytest

from tests.helpers import ServiceUser
from tests.intake.test_consent_choice import decline, post_consent
from tests.intake.test_leaving_and_invitations import invitation


def numbers_shown(page: str, phone: str) -> tuple[int, int]:
    """(tel: links to ``phone``, times its digits appear in the page's words outside the policy's message)."""
    links = page.count(f'href="tel:{phone.replace(" ", "")}"')
    body = re.sub(r'<p class="lead">.*?</p>', "", page, flags=re.S)  # the policy's alert message
    body = re.sub(r"<[^>]+>", " ", body)  # words only: not the tel: link's address
    return links, len(re.findall(rf"(?<!\d){re.escape(phone)}(?![\d])", body))


def signpost(client) -> str:
    user = ServiceUser(client)
    post_consent(client, "store")
    response = user.answer_question("safe_now", "no")
    assert response.status_code == 200 and "What happens because of your answer" in response.get_data(as_text=True)
    return response.get_data(as_text=True)


def done_after_an_alert(client) -> str:
    user = ServiceUser(client)
    post_consent(client, "store")
    page = user.answer({"safe_now": "no"}).get_data(as_text=True)
    assert "Thank you – your feedback has been sent" in page and "What happens next" in page
    return page


def done_without_an_alert(client) -> str:
    user = ServiceUser(client)
    post_consent(client, "store")
    page = user.answer({"treated": "5"}).get_data(as_text=True)
    assert "Thank you – your feedback has been sent" in page and "What happens next" not in page
    return page


def declined(client) -> str:
    response = decline(client)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def receipt_start(client) -> str:
    response = client.get("/feedback/receipt/", follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


PAGES = {"signpost": signpost, "done after an alert": done_after_an_alert,
         "done without an alert": done_without_an_alert, "declined": declined, "receipt start": receipt_start}


@pytest.mark.parametrize("linked", [False, True], ids=["anonymous", "invitation"])
@pytest.mark.parametrize("name", list(PAGES))
def test_each_helpline_is_shown_exactly_once(app, found, staff_factory, name, linked):
    client = app.test_client()
    if linked:
        client.get(f"/feedback/i/{invitation(found, staff_factory()[0])}")
    page = PAGES[name](client)
    helplines = found.policies.service("victim-support").helplines
    assert len(helplines) >= 2
    for line in helplines:
        assert numbers_shown(page, line.phone) == (1, 1), (name, line.phone)
        assert page.count(line.name["en"]) == 1, (name, line.name["en"])
    # One heading for them, whichever place holds them.
    assert page.count("Get help now") + page.count("How to get help now") == 1


def test_the_count_would_catch_a_repeat():
    twice = '<a href="tel:116123">116 123</a><footer><a href="tel:116123">116 123</a></footer>'
    assert numbers_shown(twice, "116 123") == (2, 2)
    in_words = '<p class="lead">Call Samaritans on 116 123.</p><p>If you are in danger, call 999.</p>'
    assert numbers_shown(in_words, "116 123") == (0, 0) and numbers_shown(in_words, "999") == (0, 1)
