"""The code check: what a person types is resolved, throttled when wrong, and never put in a URL or cookie."""

from __future__ import annotations

import base64
import json
import zlib

from sqlalchemy import select

from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events
from tests.conftest import canary, csrf_token
from tests.receipts.receipt_holder import BASE, ReceiptHolder, give

WRONG = "ABCD-EFGH-JKMN-PQRS-TVWX"


def events_after(found, seq: int):
    with read(found.engine) as connection:
        return connection.execute(select(audit_events).where(audit_events.c.seq > seq)
                                  .order_by(audit_events.c.seq)).all()


def head(found) -> int:
    with read(found.engine) as connection:
        return int(connection.execute(select(audit_events.c.seq).order_by(audit_events.c.seq.desc())).scalar())


def test_a_correct_code_shows_what_they_gave_and_every_field_opened_is_audited(client, found):
    secret = canary()
    code, submission_id = give(client, {"treated": "4", "listened": "sometimes", "anything_else": secret})
    before = head(found)
    person = ReceiptHolder(client)
    checked = person.check(code)
    assert checked.status_code == 303 and checked.headers["Location"].endswith(f"{BASE}/yours")
    page = person.overview().get_data(as_text=True)
    assert secret in page and "Some of the time" in page and "Overall, how well did we treat you?" in page
    events = events_after(found, before)
    assert (events[0].action, events[0].outcome, events[0].object_id) == ("receipt.verify", "active", submission_id)
    opened = events[1:]
    assert [e.action for e in opened] == ["field.open"] * 3
    assert all(e.purpose == "own_record" and e.actor_role == "receipt_holder" and e.outcome == "allowed"
               for e in opened)
    assert all(secret not in e.detail for e in events)


def test_a_code_is_accepted_the_way_people_type_it(client):
    code, _ = give(client, {"treated": "3"})
    typed = " " + code.lower().replace("-", " ").replace("0", "o").replace("1", "l") + " "
    assert ReceiptHolder(client).check(typed).status_code == 303


def test_a_malformed_code_gets_a_plain_page_that_keeps_what_was_typed(client):
    response = ReceiptHolder(client).check("12345")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "does not look like a receipt code" in page and 'value="12345"' in page
    assert "Traceback" not in page and 'href="/feedback/leave"' in page


def test_an_unknown_code_gets_a_plain_page_and_shows_nothing(client):
    secret = canary()
    give(client, {"anything_else": secret})
    response = ReceiptHolder(client).check(WRONG)
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "could not find feedback with that code" in page and secret not in page
    assert ReceiptHolder(client).overview().status_code == 403


def test_an_empty_code_asks_for_one(client):
    response = ReceiptHolder(client).check("")
    assert response.status_code == 400 and "Enter your receipt code" in response.get_data(as_text=True)


def test_wrong_codes_are_throttled_per_address_with_a_plain_page(app, client):
    code, _ = give(client, {"treated": "3"})
    person = ReceiptHolder(client)
    statuses = [person.check(WRONG).status_code for _ in range(10)]
    assert statuses == [404] * 10  # ten wrong codes are allowed...
    # ...then no more. (A fixed one-minute window may roll over once during the loop,
    # so allow up to ten more before the limit must have been reached.)
    for _ in range(11):
        refused = person.check(WRONG)
        if refused.status_code == 429:
            break
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "Too many codes have been tried" in page and 'href="/feedback/leave"' in page
    # While throttled, even the right code is not checked from this address...
    assert person.check(code).status_code == 429
    # ...but another address is not held back by this one.
    other = ReceiptHolder(app.test_client())
    assert other.check(code, environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 303


def test_correct_codes_do_not_count_toward_the_limit(client):
    code, _ = give(client, {"treated": "3"})
    person = ReceiptHolder(client)
    assert [person.check(code).status_code for _ in range(15)] == [303] * 15


def _session_of(client) -> str:
    cookie = client.get_cookie("casefeedback")
    payload = cookie.value.split(".")[0] if not cookie.value.startswith(".") else cookie.value.split(".")[1]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return (zlib.decompress(raw) if cookie.value.startswith(".") else raw).decode()


def test_the_code_is_never_in_a_url_a_header_a_cookie_or_a_page(client):
    code, submission_id = give(client, {"treated": "3"})
    person = ReceiptHolder(client)
    responses = [person.check(code), person.overview(), client.get(f"{BASE}/yours/add"),
                 client.get(f"{BASE}/yours/withdraw"), client.get(f"{BASE}/yours/download")]
    bare = code.replace("-", "")
    for response in responses:
        for _name, value in response.headers.items():
            assert code not in value and bare not in value
        body = response.get_data(as_text=True)
        assert code not in body and bare not in body
        assert 'method="get"' not in body.lower()
    session = json.loads(_session_of(client))
    assert session["receipt"]["id"] == submission_id
    assert code not in json.dumps(session) and bare not in json.dumps(session)


def test_the_device_forgets_the_code_after_a_while_without_use(client, clock):
    secret = canary()
    code, _ = give(client, {"anything_else": secret})
    person = ReceiptHolder(client)
    person.check(code)
    clock.advance(minutes=14)
    assert person.overview().status_code == 200  # still in use...
    clock.advance(minutes=14)
    assert person.overview().status_code == 200  # ...each use starts the idle time again...
    clock.advance(minutes=16)
    response = person.overview()  # ...but not after 15 minutes unused
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and "forgot your code" in page and secret not in page


def test_the_device_forgets_the_code_an_hour_after_it_was_typed_however_busy(client, clock):
    code, _ = give(client, {"treated": "2"})
    person = ReceiptHolder(client)
    person.check(code)
    for _ in range(6):
        clock.advance(minutes=10)
        assert person.overview().status_code == 200
    clock.advance(minutes=1)
    assert person.overview().status_code == 403


def test_forget_my_code_on_this_device(client):
    secret = canary()
    code, _ = give(client, {"anything_else": secret})
    person = ReceiptHolder(client)
    person.check(code)
    page = person.overview().get_data(as_text=True)
    assert "Forget my code on this device" in page
    forgotten = client.post(f"{BASE}/forget", data={"csrf_token": csrf_token(page)})
    assert forgotten.status_code == 200 and "forgotten your code" in forgotten.get_data(as_text=True)
    again = person.overview()
    assert again.status_code == 403 and secret not in again.get_data(as_text=True)


def test_forgetting_works_even_with_a_stale_form(client):
    code, _ = give(client, {"treated": "2"})
    person = ReceiptHolder(client)
    person.check(code)
    assert client.post(f"{BASE}/forget", data={}).status_code == 200
    assert person.overview().status_code == 403


def test_quick_exit_forgets_the_code_too(client):
    code, _ = give(client, {"treated": "2"})
    person = ReceiptHolder(client)
    person.check(code)
    assert client.get("/feedback/leave").status_code == 303
    after = person.overview()  # as Back would ask for it again
    assert after.status_code == 410 and "This page is no longer available" in after.get_data(as_text=True)


def test_a_code_check_without_a_csrf_token_is_refused_plainly(client):
    code, _ = give(client, {"treated": "2"})
    response = client.post(f"{BASE}/check", data={"code": code})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "This page has expired" in page and 'href="/feedback/leave"' in page
    assert ReceiptHolder(client).overview().status_code == 403


def test_every_receipt_page_is_an_intake_page(client):
    code, _ = give(client, {"treated": "2", "anything_else": "hello"})
    person = ReceiptHolder(client)
    pages = {"start": client.get(f"{BASE}/", follow_redirects=True)}
    person.check(code)
    for name in ("yours", "yours/print", "yours/add", "yours/contact", "yours/withdraw"):
        pages[name] = client.get(f"{BASE}/{name}")
    for name, response in pages.items():
        body = response.get_data(as_text=True)
        assert response.status_code == 200, name
        assert "<title>Feedback</title>" in body, name
        assert 'href="/feedback/leave"' in body and "Exit this page" in body, name
        assert "Get help now" in body and "116 123" in body, name
        assert response.headers["Cache-Control"].startswith("no-store"), name
        assert "https://" not in body, name


def test_receipt_pages_offer_welsh_and_come_back_to_a_page_that_can_be_fetched(client):
    response = ReceiptHolder(client).check("12345")  # a page answering a POST
    page = response.get_data(as_text=True)
    assert 'href="/feedback/receipt/?lang=cy"' in page
    switched = client.get("/feedback/receipt/?lang=cy")
    assert switched.status_code == 303 and switched.headers["Location"].endswith("/feedback/receipt/")
    assert '<html lang="cy">' in client.get(f"{BASE}/", follow_redirects=True).get_data(as_text=True)
