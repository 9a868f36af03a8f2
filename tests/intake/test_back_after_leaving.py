"""What Back finds after the quick exit, through the test client: doors, the neutral page, every session ended.

The browser's side (real Back presses, with and without JavaScript) is in
tests/browser/test_back_after_quick_exit.py; here each page is asked for as
Back asks for it again: with whatever cookies the exit left (none).
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from casefeedback.policy.pages import public_endpoints
from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events, staff_sessions
from tests.conftest import AuthActions, canary
from tests.helpers import ServiceUser, location
from tests.receipts.receipt_holder import ReceiptHolder, give

BASE = "/feedback/victim-support"
RECEIPT = "/feedback/receipt"
NEUTRAL = "This page is no longer available"
# Addresses people are given: each only marks the browser as come in and redirects (intake/arrival.py).
DOORS = {BASE: f"{BASE}/consent", f"{RECEIPT}/": f"{RECEIPT}/check", "/": "/start",
         "/feedback/code": "/feedback/code/enter"}
# Every page behind them, as Back would ask for it again.
BEHIND = ["/consent", "/questions", "/q/treated", "/q/anything_else?change=1", "/section/safety", "/check", "/save",
          "/resume", "/staying-safe"]
RECEIPT_PAGES = ["/check", "/yours", "/yours/add", "/yours/contact", "/yours/withdraw", "/yours/print",
                 "/yours/download"]


def service_words(app: Flask) -> list[str]:
    policy = app.extensions["casefeedback"].policies.service("victim-support")
    return [*policy.name.values(), *(line.name["en"] for line in policy.helplines), "Tell us how you were treated",
            *(q.text["en"] for q in policy.questions)]


def assert_neutral(app: Flask, response, where: str) -> None:  # type: ignore[no-untyped-def]
    page = response.get_data(as_text=True)
    assert response.status_code == 410 and NEUTRAL in page, where
    assert "<title>Page not available</title>" in page, where
    shown = page.lower()
    assert [w for w in service_words(app) if w.lower() in shown] == [], where
    assert "answers" not in shown and "saved" not in shown and "timed out" not in shown, where
    assert 'href="/feedback/leave"' in page, where  # the quick exit is still there


@pytest.mark.parametrize(("door", "behind"), list(DOORS.items()))
def test_a_door_marks_the_browser_and_redirects_so_it_is_never_a_page_in_the_history(client, door, behind):
    response = client.get(door)
    assert response.status_code == 303 and location(response) == behind
    mark = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("casefeedback-in="))
    assert "SameSite=Lax" in mark and "HttpOnly" in mark and "Path=/" in mark and "Expires" not in mark
    assert client.get(behind).status_code == 200


def test_the_mark_survives_the_redirect_after_a_link_from_another_site(app):
    """The session cookie is SameSite=Strict: after a link from an email it is not sent on the redirect."""
    person = app.test_client()
    person.get(BASE)
    person.delete_cookie("casefeedback")  # as if Strict had kept it back
    assert person.get(f"{BASE}/consent").status_code == 200


@pytest.mark.parametrize("path", BEHIND)
def test_a_browser_that_never_came_in_sees_only_the_neutral_page(app, client, path):
    assert_neutral(app, client.get(f"{BASE}{path}"), path)


@pytest.mark.parametrize("path", RECEIPT_PAGES)
def test_a_receipt_page_without_coming_in_is_neutral_too(app, client, path):
    assert_neutral(app, client.get(f"{RECEIPT}{path}"), path)


def test_every_public_page_is_a_door_neutral_or_open_on_purpose(app):
    """The pages a browser sees without coming in are few, and pinned: any other, added later, is behind the doors."""
    from casefeedback.intake.blueprint import OPEN_TO_ANYONE
    from casefeedback.receipts.blueprint import OPEN_TO_ANYONE as RECEIPT_OPEN

    open_ones = {e for e in public_endpoints(app) if e.startswith(("front.", "intake.", "receipts."))} & (
        OPEN_TO_ANYONE | RECEIPT_OPEN)
    assert open_ones == {"front.start", "intake.start", "intake.invitation", "intake.leave", "intake.code",
                         "receipts.start"}


def test_after_leaving_every_page_back_reaches_is_neutral(app, client):
    user = ServiceUser(client)
    user.consent("store")
    typed = canary()
    user.answer_question("treated", "2")
    user.answer_question("anything_else", typed)
    assert typed in client.get(f"{BASE}/q/anything_else").get_data(as_text=True)
    leaving = user.leave()
    assert location(leaving).startswith("https://")
    assert any(h.startswith("casefeedback-in=;") for h in leaving.headers.getlist("Set-Cookie"))  # the mark goes
    for path in BEHIND:
        response = client.get(f"{BASE}{path}")
        assert_neutral(app, response, path)
        assert typed not in response.get_data(as_text=True)


def test_a_form_posted_again_by_back_after_leaving_says_nothing(app, client):
    """Without JavaScript, Back showed "This page timed out … Your earlier answers are safe": false, and telling."""
    user = ServiceUser(client)
    user.consent("store")
    page = client.get(f"{BASE}/q/treated").get_data(as_text=True)
    user.leave()
    again = user.post(f"{BASE}/q/treated", {"answer": "3", "action": "continue"}, page)
    assert_neutral(app, again, "posted again")
    assert_neutral(app, client.post(f"{BASE}/send", data={}), "send without a token")


def test_a_draft_gone_while_the_session_held_it_gets_the_neutral_page(app, client):
    """Sent from another tab, or erased by the quick exit there: nothing about answers, no service named."""
    user = ServiceUser(client)
    user.consent("store")
    user.answer_question("treated", "2")
    with client.session_transaction() as session:
        held = dict(session["intake"])
    check = user.page(f"{BASE}/check")
    assert user.send().status_code == 200
    replay = user.post(f"{BASE}/send", {}, check)  # Back, and Send again
    assert replay.status_code == 409 and NEUTRAL in replay.get_data(as_text=True)
    assert "Victim Support" not in replay.get_data(as_text=True)
    with client.session_transaction() as session:
        session["intake"] = held  # the other tab's session, still naming the draft that is gone
    assert_neutral(app, client.get(f"{BASE}/q/listened"), "draft gone")


def test_after_leaving_a_receipt_back_finds_nothing(app, client):
    typed = canary()
    code, _ = give(client, {"anything_else": typed})
    person = ReceiptHolder(client)
    assert person.check(code).status_code == 303
    assert typed in person.overview().get_data(as_text=True)
    client.get("/feedback/leave")
    for path in RECEIPT_PAGES:
        response = client.get(f"{RECEIPT}{path}")
        assert_neutral(app, response, path)
        assert typed not in response.get_data(as_text=True)


# --- a member of staff's session, on the same browser ---------------------------------------------------


def audited_quick_exits(found) -> list:  # type: ignore[no-untyped-def]
    with read(found.engine) as connection:
        return connection.execute(select(audit_events).where(audit_events.c.action == "staff.session_end",
                                                             audit_events.c.outcome == "quick_exit")).all()


def test_leaving_ends_a_staff_session_so_the_old_cookie_opens_nothing(client, found, staff_factory):
    staff_id, username, password = staff_factory()
    AuthActions(client).sign_in(username, password)
    assert client.get("/casework/").status_code == 200
    old = client.get_cookie("casefeedback").value
    assert client.get("/feedback/leave").status_code == 303
    client.set_cookie("casefeedback", old)  # the cookie as it was before leaving, replayed
    response = client.get("/casework/")
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]
    with read(found.engine) as connection:
        assert connection.execute(select(staff_sessions).where(staff_sessions.c.staff_id == staff_id)).all() == []
    (ended,) = audited_quick_exits(found)
    assert ended.actor_id == staff_id and ended.actor_role == "caseworker"


def test_leaving_ends_a_sign_in_half_done(client, found, staff_factory):
    _, username, password = staff_factory()
    page = client.get("/staff/sign-in").get_data(as_text=True)
    from tests.conftest import csrf_token

    response = client.post("/staff/sign-in", data={"username": username, "password": password,
                                                   "csrf_token": csrf_token(page)})
    assert location(response).endswith("/staff/sign-in/code")
    old = client.get_cookie("casefeedback").value
    client.get("/feedback/leave")
    client.set_cookie("casefeedback", old)
    again = client.get("/staff/sign-in/code")
    assert again.status_code == 303 and location(again).endswith("/staff/sign-in")
    assert audited_quick_exits(found) == []  # no session had started: nothing to audit as ended


def test_leaving_without_a_staff_session_audits_nothing_of_staff(client, found):
    ServiceUser(client).consent("store")
    client.get("/feedback/leave")
    assert audited_quick_exits(found) == []


# --- staying safe online, before the first question ------------------------------------------------------


@pytest.mark.parametrize(("language", "link", "heading"), [
    ("en", "How to keep this visit private", "Staying safe online"),
    ("cy", "Sut i gadw’r ymweliad hwn yn breifat", "Cadw’n ddiogel ar-lein"),
])
def test_the_consent_page_links_to_staying_safe_online(client, language, link, heading):
    client.get(f"{BASE}?lang={language}")
    consent = client.get(BASE, follow_redirects=True).get_data(as_text=True)
    assert f'<a href="{BASE}/staying-safe" id="staying-safe">{link}</a>' in consent
    assert consent.index('id="staying-safe"') < consent.index("<form")  # before any choice, any question
    page = client.get(f"{BASE}/staying-safe").get_data(as_text=True)
    assert f"<h1>{heading}</h1>" in page and f'href="{BASE}/consent"' in page  # Back leads to the consent page
    assert 'href="/feedback/leave"' in page


def test_staying_safe_online_explains_private_browsing_history_and_the_quick_exit(client):
    client.get(BASE)
    page = client.get(f"{BASE}/staying-safe").get_data(as_text=True)
    for words in ("private window", "incognito", "clear its browsing history", "Exit this page", "Shift 3 times"):
        assert words in page, words


def test_staying_safe_online_and_the_neutral_page_in_welsh(client):
    from tests.intake.test_language import english_left_over

    client.get(f"{BASE}?lang=cy")
    client.get(BASE)
    safe = client.get(f"{BASE}/staying-safe").get_data(as_text=True)
    assert '<html lang="cy">' in safe and english_left_over(safe) == []
    client.get("/feedback/leave")
    client.get(f"{BASE}/q/treated?lang=cy")
    gone = client.get(f"{BASE}/q/treated").get_data(as_text=True)
    assert '<html lang="cy">' in gone and english_left_over(gone) == []
    assert "<h1>Dydy'r dudalen hon ddim ar gael mwyach</h1>" in gone
