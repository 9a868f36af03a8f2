"""Bad input: a plain page that says what happened and what to do, a 4xx, what was typed kept where safe.

Never a stack trace, never half-written data.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from casefeedback.intake.drafts import purge_expired_drafts
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import answers, draft_answers, drafts, submissions
from tests.conftest import canary, csrf_token
from tests.helpers import ServiceUser

BASE = "/feedback/victim-support"


def stored(found) -> tuple[int, int]:
    with read(found.engine) as connection:
        return (connection.execute(select(func.count()).select_from(submissions)).scalar_one(),
                connection.execute(select(func.count()).select_from(answers)).scalar_one())


def saved(found) -> int:
    with read(found.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(draft_answers)).scalar_one())


def plain(response) -> str:
    page = response.get_data(as_text=True)
    assert "Traceback" not in page and 'href="/feedback/leave"' in page, page
    return page


def test_unknown_service_is_404(client):
    response = client.get("/feedback/no-such-service")
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["q/not_a_question", "q/treated%00", "section/experience", "section/nope"])
def test_unknown_question_or_section_in_the_url_is_a_plain_404(client, path):
    ServiceUser(client).consent("store")
    response = client.get(f"{BASE}/{path}")
    page = plain(response)
    assert response.status_code == 404
    assert "Page not found" in page and "Check the address" in page and "116 123" in page


def test_unknown_option_value_is_refused_and_nothing_is_saved(client, found):
    user = ServiceUser(client)
    user.consent("store")
    response = user.answer_question("listened", "maybe-not-an-option")
    page = plain(response)
    assert response.status_code == 400
    assert "Choose one of the answers shown, or choose “Skip this question”." in page
    assert 'href="#answer-0"' in page and 'aria-describedby="answer-error"' in page  # summary links to the field
    assert "<title>Error: Feedback</title>" in page
    assert saved(found) == 0 and stored(found) == (0, 0)


def test_prefer_not_to_say_with_another_answer_is_refused(client, found):
    # Every question of the default policy has one answer; a multi_choice needs a policy of its own.
    from casefeedback.intake.drafts import valid_value
    from tests.alerts.test_rules import KINDS

    many = KINDS.question("many")
    assert not valid_value(many, ["x", "prefer_not_to_say"]) and valid_value(many, ["prefer_not_to_say"])


def test_over_long_answer_is_refused_keeping_every_word_typed(client, found):
    limit = found.policies.service("victim-support").question("anything_else").max_length
    user = ServiceUser(client)
    user.consent("store")
    typed = canary() + " " + "x" * limit
    response = user.answer_question("anything_else", typed)
    page = plain(response)
    assert response.status_code == 400
    assert f"the most you can write here is {limit}" in page
    assert f'id="answer" name="answer" rows="8" spellcheck="true" aria-describedby="answer-hint answer-error">' \
           f"{typed}</textarea>" in page  # nothing lost: not even cut at the limit
    assert saved(found) == 0 and stored(found) == (0, 0)


def test_oversized_body_is_413_with_a_plain_message(client, found):
    user = ServiceUser(client)
    user.consent("store")
    page = client.get(f"{BASE}/q/anything_else").get_data(as_text=True)
    body = {"answer": "y" * (found.config.max_request_bytes + 10), "csrf_token": csrf_token(page)}
    response = client.post(f"{BASE}/q/anything_else", data=body)
    text = plain(response)
    assert response.status_code == 413
    assert "too much to send at once" in text and "Your earlier answers are safe" in text
    assert f'href="{BASE}/q/anything_else"' in text  # back to the same question
    assert saved(found) == 0


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_missing_or_forged_csrf_token_keeps_the_answer_typed_and_saves_nothing(client, found, token):
    ServiceUser(client).consent("store")
    typed = canary()
    data = {"answer": typed}
    if token:
        data["csrf_token"] = token
    response = client.post(f"{BASE}/q/anything_else", data=data)
    page = plain(response)
    assert response.status_code == 400
    assert "This page timed out" in page and "press Continue to save it" in page
    assert f">{typed}</textarea>" in page  # put back in the form, with a fresh token
    assert csrf_token(page) != token
    assert saved(found) == 0 and stored(found) == (0, 0)
    # ...and the fresh token works.
    again = client.post(f"{BASE}/q/anything_else", data={"answer": typed, "csrf_token": csrf_token(page)})
    assert again.status_code == 303 and saved(found) == 1


def test_a_forged_post_without_the_session_echoes_nothing(app, found):
    stranger = app.test_client()
    typed = canary()
    response = stranger.post(f"{BASE}/q/anything_else", data={"answer": typed})
    page = plain(response)
    # Not even that the page timed out: a browser that never came in (or has left) learns nothing.
    assert response.status_code == 410 and "This page is no longer available" in page and typed not in page
    assert "timed out" not in page and "answers" not in page


@pytest.mark.parametrize(("path", "again"), [("consent", BASE), ("send", f"{BASE}/check"),
                                             ("section/safety", f"{BASE}/section/safety"),
                                             ("resume", f"{BASE}/resume"), ("save", f"{BASE}/save")])
def test_every_form_without_its_token_gets_a_plain_page_with_a_way_back(client, found, path, again):
    ServiceUser(client).consent("store")
    response = client.post(f"{BASE}/{path}", data={"action": "code", "code": "ABCD"})
    page = plain(response)
    assert response.status_code == 400 and "This page timed out" in page
    assert f'href="{again}"' in page
    assert stored(found) == (0, 0)


def test_replayed_submission_is_stored_once(client, found):
    user = ServiceUser(client)
    user.consent("store")
    user.answer_all({"treated": "2"})
    check = client.get(f"{BASE}/check").get_data(as_text=True)
    assert client.post(f"{BASE}/send", data={"csrf_token": csrf_token(check)}).status_code == 200
    replay = client.post(f"{BASE}/send", data={"csrf_token": csrf_token(check)})  # Back, then Send again
    page = plain(replay)
    # The draft is gone: the neutral page, which says nothing about answers (nor names the service).
    assert replay.status_code == 409 and "This page is no longer available" in page
    assert "answers" not in page and "Victim Support" not in page
    assert stored(found) == (1, 1)


def test_resume_code_for_an_expired_draft_says_so_and_erases_it(app, client, found, clock):
    user = ServiceUser(client)
    user.consent("store")
    user.answer_question("treated", "3")
    code = user.keep_resume_code()
    clock.advance(days=14, seconds=1)
    later = ServiceUser(app.test_client())
    response = later.resume(code)
    page = plain(response)
    assert response.status_code == 410
    assert "Your unfinished answers have been deleted" in page and "14 days" in page and "start again" in page
    with read(found.engine) as connection:
        assert connection.execute(select(func.count()).select_from(drafts)).scalar_one() == 0
    assert saved(found) == 0


def test_resume_code_after_the_purge_is_not_found_and_keeps_what_was_typed(app, client, found, clock):
    user = ServiceUser(client)
    user.consent("store")
    code = user.keep_resume_code()
    clock.advance(days=15)
    with write(found.engine) as connection:
        assert purge_expired_drafts(connection, found.audit, clock()) == 1
    response = ServiceUser(app.test_client()).resume(code.lower())
    page = plain(response)
    assert response.status_code == 404
    assert "We could not find any answers for that code" in page and "14 days" in page
    assert f'value="{code.lower()}"' in page  # they can correct a typo instead of typing it all again


@pytest.mark.parametrize("typed", ["", "ABC", "!!!!-????-....-,,,,-;;;;"])
def test_a_resume_code_that_cannot_be_one_is_explained(client, typed):
    response = ServiceUser(client).resume(typed)
    page = plain(response)
    assert response.status_code == 400
    assert "Enter the code" in page or "A code has 20 letters and numbers" in page
    assert 'href="#code"' in page


def test_wrong_resume_codes_are_throttled(app):
    person = ServiceUser(app.test_client())
    statuses = [person.resume("ABCD-EFGH-JKMN-PQRS-TVWX").status_code for _ in range(11)]
    assert statuses[:10] == [404] * 10 and statuses[10] == 429
    page = person.resume("ABCD-EFGH-JKMN-PQRS-TVWX")
    assert "Too many tries" in plain(page)


def test_malformed_form_encoding_is_a_4xx(client):
    ServiceUser(client).consent("store")
    response = client.post(f"{BASE}/q/treated", data=b"\xff\xfe%%%==&&",
                           content_type="application/x-www-form-urlencoded")
    assert 400 <= response.status_code < 500


def test_wrong_method_is_405_not_a_trace(client):
    response = client.delete("/feedback/victim-support")
    assert response.status_code == 405
    assert "Traceback" not in response.get_data(as_text=True)


def test_unexpected_error_is_a_plain_500_page_without_a_trace(app, client, monkeypatch):
    import casefeedback.intake.start as start

    def explode(*_args, **_kwargs):
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(start, "consent_form_class", explode)
    response = client.get("/feedback/victim-support", follow_redirects=True)  # the door, then the consent page
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "internal detail" not in page and "Traceback" not in page
