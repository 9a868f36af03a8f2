"""Adding more: stored sealed as a new submission linked to the first, tied to the same case."""

from __future__ import annotations

from sqlalchemy import func, select

from casefeedback.storage.engine import read
from casefeedback.storage.tables import answers, audit_events, consent_receipts, submission_additions, submissions
from tests.conftest import canary, csrf_token
from tests.receipts.receipt_holder import BASE, ReceiptHolder, give, invited_case


def count(found, table) -> int:
    with read(found.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_an_addition_is_linked_to_the_case_and_its_caseworker_and_audited(app, client, found, staff_factory, auth):
    owner_id, username, password = staff_factory("caseworker")
    case_id, token = invited_case(found, owner_id)
    client.get(f"/feedback/i/{token}")
    code, root_id = give(client, {"treated": "3"}, choices=("store", "contact_me"))
    person = ReceiptHolder(client)
    person.check(code)
    added_text = canary()
    response = person.add({"anything_else": added_text})
    assert response.status_code == 200 and "we have added this" in response.get_data(as_text=True)
    with read(found.engine) as connection:
        link = connection.execute(select(submission_additions)).one()
        addition = connection.execute(select(submissions).where(submissions.c.id == link.submission_id)).one()
        consent = connection.execute(select(consent_receipts.c.choices)
                                     .where(consent_receipts.c.submission_id == addition.id)).scalar_one()
        event = connection.execute(select(audit_events).where(audit_events.c.action == "submission.add")).one()
        on_case = set(connection.execute(select(submissions.c.id).where(submissions.c.case_id == case_id)).scalars())
    assert link.parent_id == root_id and addition.case_id == case_id and addition.status == "active"
    assert on_case == {root_id, addition.id}
    assert '"contact_me": true' in consent  # the addition is under the consent the person gave
    assert event.actor_role == "receipt_holder" and added_text not in event.detail
    assert added_text in person.overview().get_data(as_text=True)
    # The named caseworker reads it like any feedback on their case.
    other = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(other).sign_in(username, password)
    assert added_text in other.get(f"/casework/submissions/{addition.id}").get_data(as_text=True)


def test_an_addition_has_no_code_of_its_own(client, found):
    code, _ = give(client, {"treated": "3"})
    person = ReceiptHolder(client)
    person.check(code)
    person.add({"anything_else": "more"})
    with read(found.engine) as connection:
        hashes = list(connection.execute(select(submissions.c.receipt_hash)).scalars())
    assert len(set(hashes)) == 2  # unique, and the addition's is of a code nobody was shown


def test_an_over_long_addition_is_refused_keeping_what_was_written(client, found):
    code, _ = give(client, {"treated": "3"})
    person = ReceiptHolder(client)
    person.check(code)
    limit = found.policies.service("victim-support").question("safer").max_length
    response = person.add({"safer": "z" * (limit + 1), "anything_else": "keep this text"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"longer than {limit} characters" in page and "keep this text" in page
    assert count(found, submission_additions) == 0


def test_an_empty_addition_asks_for_something_to_add(client, found):
    code, _ = give(client, {"treated": "3"})
    person = ReceiptHolder(client)
    person.check(code)
    response = person.add({"anything_else": "   "})
    assert response.status_code == 400 and "Write something to add" in response.get_data(as_text=True)
    assert count(found, submission_additions) == 0


def test_sending_the_same_addition_twice_stores_it_once(client, found):
    code, _ = give(client, {"treated": "3"})
    person = ReceiptHolder(client)
    person.check(code)
    page = client.get(f"{BASE}/yours/add").get_data(as_text=True)
    first = person.post_add({"anything_else": "once"}, csrf_token(page))
    again = person.post_add({"anything_else": "once"}, csrf_token(page))  # Back, and send again
    assert first.status_code == 200
    assert again.status_code == 409 and "already been sent" in again.get_data(as_text=True)
    assert count(found, submission_additions) == 1
    assert count(found, answers) == 2


def test_a_double_click_collides_instead_of_storing_twice(app, client, found):
    code, _ = give(client, {"treated": "3"})
    person = ReceiptHolder(client)
    person.check(code)
    page = client.get(f"{BASE}/yours/add").get_data(as_text=True)
    # Two requests carrying the same cookie, as a double click sends them.
    cookie = client.get_cookie("casefeedback").value
    twin = app.test_client()
    twin.set_cookie("casefeedback", cookie)
    assert person.post_add({"anything_else": "twice"}, csrf_token(page)).status_code == 200
    assert ReceiptHolder(twin).post_add({"anything_else": "twice"}, csrf_token(page)).status_code == 409
    assert count(found, submission_additions) == 1


def test_if_the_device_forgot_the_code_while_writing_nothing_written_is_lost(client, found, clock):
    code, _ = give(client, {"treated": "3"})
    person = ReceiptHolder(client)
    person.check(code)
    page = client.get(f"{BASE}/yours/add").get_data(as_text=True)
    clock.advance(minutes=40)  # a long time writing
    words = canary()
    asked = person.post_add({"anything_else": words}, csrf_token(page))
    asked_page = asked.get_data(as_text=True)
    assert asked.status_code == 403
    assert "forgot your code" in asked_page and words in asked_page and 'name="code"' in asked_page
    wrong = person.post_add({"anything_else": words}, csrf_token(asked_page), code="ABCD-EFGH-JKMN-PQRS-TVWX")
    assert wrong.status_code == 404 and words in wrong.get_data(as_text=True)
    assert count(found, submission_additions) == 0
    sent = person.post_add({"anything_else": words}, csrf_token(asked_page), code=code)
    assert sent.status_code == 200 and "we have added this" in sent.get_data(as_text=True)
    assert count(found, submission_additions) == 1
    assert words in person.overview().get_data(as_text=True)


def test_adding_without_a_csrf_token_is_refused_plainly(client, found):
    code, _ = give(client, {"treated": "3"})
    person = ReceiptHolder(client)
    person.check(code)
    client.get(f"{BASE}/yours/add")
    response = client.post(f"{BASE}/yours/add", data={"q_anything_else": "x"})
    assert response.status_code == 400 and "This page has expired" in response.get_data(as_text=True)
    assert count(found, submission_additions) == 0


def test_an_addition_that_meets_an_alert_rule_says_what_happens_next(client, found, staff_factory):
    owner_id, *_ = staff_factory()
    _, token = invited_case(found, owner_id)
    client.get(f"/feedback/i/{token}")
    code, _ = give(client, {"treated": "3"})
    person = ReceiptHolder(client)
    person.check(code)
    page = person.add({"safer": "I feel unsafe at home now"}).get_data(as_text=True)
    assert "What happens next" in page
    assert "We will tell our team straight away" in page and "call 999" in page
    calm = person.add({"anything_else": "Thank you for listening"}).get_data(as_text=True)
    assert "What happens next" not in calm
