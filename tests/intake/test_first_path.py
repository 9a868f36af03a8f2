"""The first path end to end: consent, answers, receipt; a caseworker reads it; audit records it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from casefeedback.storage.engine import read
from casefeedback.storage.tables import (
    answers,
    audit_events,
    consent_receipts,
    data_keys,
    draft_answers,
    drafts,
    submissions,
)
from tests.conftest import canary, csrf_token
from tests.helpers import ServiceUser

ANSWERS = {"treated": "4", "listened": "yes", "safe_now": "no"}


def count(found, table) -> int:
    with read(found.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize("path", ["questions", "q/treated", "section/safety", "check", "save"])
def test_consent_comes_first(client, path):
    client.get("/feedback/victim-support")  # in through the service's address (intake/arrival.py)
    response = client.get(f"/feedback/victim-support/{path}")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/feedback/victim-support")


def test_consent_page_explains_keeping_and_seeing_from_the_policy(app, client, found, staff_factory):
    page = client.get("/feedback/victim-support", follow_redirects=True).get_data(as_text=True)
    # Anonymous: no case, so nobody holds a case relation; only the duty manager can read safety answers.
    assert "Your feedback is anonymous: it is not linked to your name or to a case." in page
    # Without a case, "after your case is closed" never comes: the purge counts from sending, and so does the page.
    assert ("Kept for 180 days after you send your answers. Nobody at the service can read these: only staff "
            "working on a case could, and your feedback is not linked to one.") in page
    assert "Kept for 1 year after you send your answers. Who can see them: the duty manager." in page
    assert "case is closed" not in page
    assert "we keep your answers for 14 days after your last change" in page
    assert "Exit this page" in page and "116 123" in page

    from tests.intake.test_leaving_and_invitations import invitation

    owner_id, *_ = staff_factory()
    invited = app.test_client()
    invited.get(f"/feedback/i/{invitation(found, owner_id)}")
    page = invited.get("/feedback/victim-support", follow_redirects=True).get_data(as_text=True)
    assert "Your feedback will be linked to your case" in page
    assert "Kept for 180 days after your case is closed. Who can see them: your caseworker." in page
    assert ("Kept for 1 year after your case is closed. Who can see them: your caseworker, the caseworker "
            "who covers for them, their supervisor, the duty manager.") in page


def test_nothing_is_stored_before_consent_to_store(client, found):
    before = {t.name: count(found, t) for t in (drafts, draft_answers, submissions, audit_events)}
    client.get("/feedback/victim-support")
    client.get("/feedback/victim-support/q/treated")
    assert {t.name: count(found, t) for t in (drafts, draft_answers, submissions, audit_events)} == before
    ServiceUser(client).consent("store")
    assert count(found, drafts) == 1 and count(found, draft_answers) == 0


def decline(client):
    page = client.get("/feedback/victim-support", follow_redirects=True).get_data(as_text=True)
    return client.post("/feedback/victim-support/consent",
                       data={"choice_contact_me": "y", "action": "decline", "csrf_token": csrf_token(page)})


def test_declining_stores_nothing(client, found):
    before = {t.name: count(found, t) for t in (submissions, consent_receipts, answers, audit_events, drafts)}
    response = decline(client)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "nothing has been saved" in page and "talk to your caseworker" in page and "116 123" in page
    assert {t.name: count(found, t) for t in (submissions, consent_receipts, answers, audit_events, drafts)} == before
    assert client.get("/feedback/victim-support/questions").status_code == 303


def test_declining_part_way_erases_the_draft(client, found):
    user = ServiceUser(client)
    user.consent("store")
    user.answer_question("treated", "4")
    assert count(found, draft_answers) == 1
    page = client.get("/feedback/victim-support", follow_redirects=True).get_data(as_text=True)
    assert "You have saved answers already" in page and 'name="choice_store" value="y" checked' in page
    assert user.consent("contact_me").status_code == 400  # unticked by mistake: pointed out, nothing erased
    assert count(found, draft_answers) == 1
    response = decline(client)
    assert "nothing has been saved" in response.get_data(as_text=True)
    assert (count(found, drafts), count(found, draft_answers)) == (0, 0)
    with read(found.engine) as connection:
        event = connection.execute(select(audit_events).where(audit_events.c.action == "draft.erase")).one()
    assert '"reason":"consent_declined"' in event.detail


def test_changing_choices_part_way_keeps_the_answers_and_records_the_new_choices(client, found, clock):
    user = ServiceUser(client)
    user.consent("store")
    user.answer_question("treated", "4")
    clock.advance(minutes=5)
    response = user.consent("store", "contact_me")
    assert response.headers["Location"].endswith("/feedback/victim-support/q/listened")  # carries on
    code = user.give_feedback({"treated": "4"}, choices=("store", "contact_me"))
    assert code
    with read(found.engine) as connection:
        receipt = connection.execute(select(consent_receipts)).one()
    assert json.loads(receipt.choices)["contact_me"] is True


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
    assert receipt.given_at == found.clock()  # the time consent was given
    assert {a.question_id for a in stored} == set(ANSWERS)  # skipped questions store nothing
    assert {k.field_class for k in keys} == {a.field_class for a in stored}
    assert all(k.kek_id == found.keyring.active_id for k in keys)
    assert (count(found, drafts), count(found, draft_answers)) == (0, 0)  # the draft went with the sending


def test_the_same_submission_sent_twice_is_stored_once(client, found):
    user = ServiceUser(client)
    user.consent("store")
    user.answer_all({"treated": "5"})
    page = client.get("/feedback/victim-support/check").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page)}
    cookie = client.get_cookie("casefeedback")
    assert client.post("/feedback/victim-support/send", data=form).status_code == 200
    client.set_cookie("casefeedback", cookie.value)  # replay the old session cookie too
    replay = client.post("/feedback/victim-support/send", data=form)
    assert replay.status_code == 409
    assert "already been sent" in replay.get_data(as_text=True)
    assert count(found, submissions) == 1 and count(found, drafts) == 0


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
    assert "VS-1" in listing and '<td data-label="Feedback received" class="numeric">1</td>' in listing
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
