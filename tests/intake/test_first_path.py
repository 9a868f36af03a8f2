"""The first path end to end: consent, answers, receipt; a caseworker reads it; audit records it."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from casefeedback.storage.engine import read
from casefeedback.storage.tables import (
    answers,
    audit_events,
    consent_receipts,
    data_keys,
    submissions,
)
from tests.conftest import canary
from tests.helpers import ServiceUser

ANSWERS = {"treated": "4", "listened": "yes", "safe_now": "no"}


def count(found, table) -> int:
    with read(found.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_consent_comes_first(client):
    response = client.get("/feedback/victim-support/questions")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/feedback/victim-support")


def test_consent_page_explains_keeping_and_seeing_from_the_policy(client):
    page = client.get("/feedback/victim-support").get_data(as_text=True)
    assert "kept for 180 days after your case is closed" in page
    assert "Seen by your caseworker." in page
    assert "Exit this page" in page and "116 123" in page


def test_declining_stores_nothing(client, found):
    before = {t.name: count(found, t) for t in (submissions, consent_receipts, answers, audit_events)}
    response = ServiceUser(client).consent("contact_me")
    assert response.status_code == 200
    assert "nothing has been saved" in response.get_data(as_text=True)
    assert {t.name: count(found, t) for t in (submissions, consent_receipts, answers, audit_events)} == before
    assert client.get("/feedback/victim-support/questions").status_code == 303


def test_submission_is_sealed_with_a_consent_receipt_and_policy_version(client, found):
    code = ServiceUser(client).give_feedback(ANSWERS, choices=("store", "share_insight"))
    assert len(code.replace("-", "")) == 20
    policy = found.policies.service("victim-support")
    with read(found.engine) as connection:
        sub = connection.execute(select(submissions)).one()
        receipt = connection.execute(select(consent_receipts)).one()
        stored = connection.execute(select(answers)).all()
        keys = connection.execute(select(data_keys)).all()
    assert sub.policy_version == policy.version and sub.case_id is None
    assert code.replace("-", "") not in sub.receipt_hash
    assert json.loads(receipt.choices) == {"store": True, "contact_me": False, "share_insight": True}
    assert receipt.consent_version == policy.consent.version and receipt.language == "en"
    assert {a.question_id for a in stored} == set(ANSWERS)  # skipped questions store nothing
    assert {k.field_class for k in keys} == {a.field_class for a in stored}
    assert all(k.kek_id == found.keyring.active_id for k in keys)


def test_the_same_submission_sent_twice_is_stored_once(client, found):
    user = ServiceUser(client)
    user.consent("store")
    page = client.get("/feedback/victim-support/questions").get_data(as_text=True)
    from tests.conftest import csrf_token

    form = {"q_treated": "5", "csrf_token": csrf_token(page)}
    cookie = client.get_cookie("casefeedback")
    assert client.post("/feedback/victim-support/questions", data=form).status_code == 200
    client.set_cookie("casefeedback", cookie.value)  # replay the old session cookie too
    replay = client.post("/feedback/victim-support/questions", data=form)
    assert replay.status_code == 409
    assert "already been sent" in replay.get_data(as_text=True)
    assert count(found, submissions) == 1


def test_caseworker_sees_invited_feedback_and_every_open_is_audited(client, app, found, staff_factory, auth):
    owner_id, username, password = staff_factory("caseworker")
    auth.sign_in(username, password)
    from tests.conftest import csrf_token

    page = client.get("/casework/").get_data(as_text=True)
    client.post("/casework/", data={"service": "victim-support", "reference": "VS-1",
                                    "csrf_token": csrf_token(page)})
    with read(found.engine) as connection:
        from casefeedback.storage.tables import cases

        case_id = connection.execute(select(cases.c.id)).scalar_one()
    case_page = client.get(f"/casework/cases/{case_id}").get_data(as_text=True)
    invited = client.post(f"/casework/cases/{case_id}/invitations",
                          data={"csrf_token": csrf_token(case_page)}).get_data(as_text=True)
    link = invited.split('class="invitation-link">')[1].split("<")[0]
    auth.sign_out()

    person = app.test_client()
    secret = canary()
    assert person.get(link.replace("http://localhost", "")).status_code == 303
    ServiceUser(person).give_feedback({**ANSWERS, "anything_else": secret})

    auth.sign_in(username, password)
    listing = client.get("/casework/").get_data(as_text=True)
    assert "VS-1" in listing and "<td>1</td>" in listing
    with read(found.engine) as connection:
        submission_id = connection.execute(select(submissions.c.id)).scalar_one()
        events_before = count(found, audit_events)
    shown = client.get(f"/casework/submissions/{submission_id}").get_data(as_text=True)
    assert secret in shown
    with read(found.engine) as connection:
        opened = connection.execute(select(audit_events).where(audit_events.c.seq > events_before)).all()
    assert len(opened) == len(ANSWERS) + 1
    assert {e.action for e in opened} == {"field.open"}
    assert all(e.actor_id == owner_id and e.purpose == "casework" and e.outcome == "allowed" for e in opened)
    assert all(secret not in e.detail for e in opened)

    # The invitation was single-use: a second person cannot use it.
    stranger = app.test_client()
    assert stranger.get(link.replace("http://localhost", "")).status_code == 410
