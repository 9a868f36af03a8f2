"""Changing the contact choice: the current state on the consent receipt, its history, and an audit event."""

from __future__ import annotations

import json

from sqlalchemy import select

from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events, consent_changes, consent_receipts
from tests.receipts.receipt_holder import BASE, ReceiptHolder, give


def choices(found, submission_id: str) -> dict:
    with read(found.engine) as connection:
        return json.loads(connection.execute(select(consent_receipts.c.choices)
                                             .where(consent_receipts.c.submission_id == submission_id))
                          .scalar_one())


def test_changing_contact_consent_is_saved_kept_in_history_and_audited(client, found, clock):
    code, submission_id = give(client, {"treated": "3"}, choices=("store",))
    person = ReceiptHolder(client)
    person.check(code)
    person.add({"anything_else": "more"})
    form = client.get(f"{BASE}/yours/contact").get_data(as_text=True)
    assert '<input checked id="contact_me-1" name="contact_me" required type="radio" value="no">' in form
    clock.advance(minutes=1)
    response = person.contact("yes")
    assert response.status_code == 200 and "We can contact you" in response.get_data(as_text=True)
    assert choices(found, submission_id) == {"store": True, "contact_me": True, "share_insight": False}
    with read(found.engine) as connection:
        history = connection.execute(select(consent_changes)).all()
        events = connection.execute(select(audit_events).where(audit_events.c.action == "consent.change")).all()
        receipts = [json.loads(c) for c in connection.execute(select(consent_receipts.c.choices)).scalars()]
    assert [(h.submission_id, h.choice, h.value, h.changed_at) for h in history] == [
        (submission_id, "contact_me", True, clock.now)]
    assert [(e.object_id, e.actor_role, json.loads(e.detail)) for e in events] == [
        (submission_id, "receipt_holder", {"choice": "contact_me", "value": True})]
    assert all(r["contact_me"] for r in receipts)  # the addition follows the same choice
    assert "<strong>Yes</strong>" in person.overview().get_data(as_text=True)
    person.contact("no")
    assert choices(found, submission_id)["contact_me"] is False


def test_choosing_what_is_already_chosen_changes_nothing(client, found):
    code, _ = give(client, {"treated": "3"}, choices=("store", "contact_me"))
    person = ReceiptHolder(client)
    person.check(code)
    assert person.contact("yes").status_code == 200
    with read(found.engine) as connection:
        assert connection.execute(select(consent_changes)).all() == []


def test_an_unknown_choice_is_refused_plainly(client, found):
    code, submission_id = give(client, {"treated": "3"})
    person = ReceiptHolder(client)
    person.check(code)
    response = person.contact("maybe")
    assert response.status_code == 400 and "There is a problem" in response.get_data(as_text=True)
    assert choices(found, submission_id)["contact_me"] is False


def test_pages_that_need_no_answers_open_none(client, found):
    code, _ = give(client, {"treated": "3", "anything_else": "private"})
    person = ReceiptHolder(client)
    person.check(code)
    with read(found.engine) as connection:
        before = connection.execute(select(audit_events.c.seq).order_by(audit_events.c.seq.desc())).scalar()
    for path in ("yours/contact", "yours/withdraw", "yours/add"):
        assert client.get(f"{BASE}/{path}").status_code == 200
    with read(found.engine) as connection:
        opened = connection.execute(select(audit_events).where(audit_events.c.seq > before)).all()
    assert opened == []


def test_changing_contact_without_a_csrf_token_changes_nothing(client, found):
    code, submission_id = give(client, {"treated": "3"})
    person = ReceiptHolder(client)
    person.check(code)
    response = client.post(f"{BASE}/yours/contact", data={"contact_me": "yes"})
    assert response.status_code == 400 and "This page has expired" in response.get_data(as_text=True)
    assert choices(found, submission_id)["contact_me"] is False
