"""Replies to feedback: written by the case's people as the policy says, sealed like an answer, read by the person
on their receipt page (in their language, audited), erased with the feedback on withdrawal and by retention."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from casefeedback.audit.actions import Action
from casefeedback.policy.model import REPLY_CLASS
from casefeedback.retention.purge import purge
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events, cases, data_keys, feedback_replies, staff_notifications
from tests.casework.reply_support import give_on_case, write_reply
from tests.casework.support import events, new_case, person
from tests.casework.test_break_glass import glass
from tests.conftest import Clock, canary
from tests.receipts.receipt_holder import BASE, ReceiptHolder

WELSH_HEADING = "Rydyn ni wedi ymateb i chi"


def _replies(found: Services) -> list:  # type: ignore[type-arg]
    with read(found.engine) as connection:
        return list(connection.execute(select(feedback_replies)).all())


def _reply_keys(found: Services, submission_id: str) -> list:  # type: ignore[type-arg]
    with read(found.engine) as connection:
        return list(connection.execute(select(data_keys.c.id).where(
            data_keys.c.submission_id == submission_id, data_keys.c.field_class == REPLY_CLASS)).scalars())


def test_a_reply_is_sealed_and_the_person_reads_it_in_english_and_in_welsh(app: Flask, found: Services) -> None:
    owner = person(app)
    case_id = new_case(found, owner)
    given = give_on_case(app, found, case_id, owner.id, {"treated": "2"})
    secret = canary()
    response = write_reply(owner, given.submission_id, f"We are sorry. {secret}\nWe have changed how we call.")
    assert response.status_code == 303
    # Staff read it back on the feedback's page, opened through the decision and audited.
    page = owner.get(f"/casework/submissions/{given.submission_id}").get_data(as_text=True)
    assert secret in page and 'data-class="reply" data-state="open"' in page
    (row,) = _replies(found)
    assert secret.encode() not in row.ciphertext and row.language == "en"
    assert _reply_keys(found, given.submission_id) == [row.data_key_id]
    (written,) = events(found, Action.REPLY_WRITE)
    assert written.object_id == given.submission_id and secret not in written.detail

    holder = ReceiptHolder(given.browser)
    assert holder.check(given.code).status_code == 303
    english = holder.overview().get_data(as_text=True)
    assert "We have replied to you" in english and secret in english
    assert 'lang="en"' in english
    given.browser.get(f"{BASE}/yours?lang=cy")
    welsh = holder.overview().get_data(as_text=True)
    assert WELSH_HEADING in welsh and secret in welsh and "We have replied to you" not in welsh
    download = json.loads(given.browser.get(f"{BASE}/yours/download").get_data(as_text=True))
    assert [(r["language"], r["state"]) for r in download["replies"]] == [("en", "open")]
    assert secret in download["replies"][0]["text"]
    with read(found.engine) as connection:
        opened = connection.execute(select(audit_events).where(
            audit_events.c.action == Action.FIELD_OPEN, audit_events.c.object_type == "reply",
            audit_events.c.actor_role == "receipt_holder")).all()
    assert len(opened) == 3 and {e.purpose for e in opened} == {"own_record"}


def test_a_second_reply_shares_the_class_key_and_both_are_shown_oldest_first(app: Flask, found: Services,
                                                                             clock: Clock) -> None:
    owner = person(app)
    case_id = new_case(found, owner)
    given = give_on_case(app, found, case_id, owner.id, {"treated": "3"})
    first, second = canary(), canary()
    assert write_reply(owner, given.submission_id, first).status_code == 303
    clock.advance(minutes=5)  # (within the staff session's idle timeout)
    assert write_reply(owner, given.submission_id, second, language="cy").status_code == 303
    assert len(_reply_keys(found, given.submission_id)) == 1
    holder = ReceiptHolder(given.browser)
    holder.check(given.code)
    page = holder.overview().get_data(as_text=True)
    assert page.index(first) < page.index(second) and 'lang="cy"' in page


def test_withdrawing_consent_erases_every_reply(app: Flask, found: Services) -> None:
    owner = person(app)
    case_id = new_case(found, owner)
    given = give_on_case(app, found, case_id, owner.id, {"anything_else": "words"})
    assert write_reply(owner, given.submission_id, canary()).status_code == 303
    holder = ReceiptHolder(given.browser)
    holder.check(given.code)
    assert holder.withdraw().status_code == 200
    assert _replies(found) == [] and _reply_keys(found, given.submission_id) == []
    (erased,) = [e for e in events(found, Action.ERASURE) if e.object_id == given.submission_id]
    assert '"data_keys":2' in erased.detail and '"fields":2' in erased.detail  # the answer's and the reply's


def test_retention_erases_replies_on_time_never_early(app: Flask, found: Services, clock: Clock) -> None:
    owner = person(app)
    case_id = new_case(found, owner)
    given = give_on_case(app, found, case_id, owner.id, {"treated": "4"})
    assert write_reply(owner, given.submission_id, canary()).status_code == 303
    with write(found.engine) as connection:
        connection.execute(cases.update().where(cases.c.id == case_id).values(status="closed", closed_at=clock.now))
    keep = found.policies.services["victim-support"].classes[REPLY_CLASS].retention.keep
    due = keep.after(clock.now)
    clock.now = due - timedelta(seconds=1)
    purge(found, clock.now)
    assert len(_replies(found)) == 1  # not a second early
    clock.now = due
    purge(found, due)
    assert _replies(found) == [] and _reply_keys(found, given.submission_id) == []


def test_a_reply_is_refused_once_its_class_is_past_keeping(app: Flask, found: Services, clock: Clock) -> None:
    owner = person(app)
    case_id = new_case(found, owner)
    given = give_on_case(app, found, case_id, owner.id, {"treated": "4"})
    with write(found.engine) as connection:
        connection.execute(cases.update().where(cases.c.id == case_id).values(status="closed", closed_at=clock.now))
    clock.advance(days=400)
    owner.auth.sign_in(owner.username, owner.password)  # a new day, a new session
    response = write_reply(owner, given.submission_id, "Hello")
    assert response.status_code == 400 and "past the time the policy keeps them" in response.get_data(as_text=True)
    assert _replies(found) == [] and _reply_keys(found, given.submission_id) == []


def test_bad_replies_get_a_message_and_a_400_and_store_nothing(app: Flask, found: Services) -> None:
    owner = person(app)
    case_id = new_case(found, owner)
    given = give_on_case(app, found, case_id, owner.id, {"treated": "4"})
    for text, language, message in (("", "en", "Write your reply"), ("   ", "en", "Write your reply"),
                                    ("x" * 2001, "en", "Keep your reply under 2000 characters"),
                                    ("Hello", "fr", "Choose one of the languages this service offers")):
        response = write_reply(owner, given.submission_id, text, language=language)
        assert response.status_code == 400, (text[:5], language)
        assert message in response.get_data(as_text=True)
    assert _replies(found) == [] and _reply_keys(found, given.submission_id) == []


def test_the_same_form_sent_twice_keeps_one_reply(app: Flask, found: Services) -> None:
    owner = person(app)
    case_id = new_case(found, owner)
    given = give_on_case(app, found, case_id, owner.id, {"treated": "4"})
    assert write_reply(owner, given.submission_id, "Hello", nonce="n" * 32).status_code == 303
    again = write_reply(owner, given.submission_id, "Hello", nonce="n" * 32)
    assert again.status_code == 409 and "kept once" in again.get_data(as_text=True)
    assert len(_replies(found)) == 1


def test_only_the_relations_the_policy_names_may_write(app: Flask, found: Services) -> None:
    owner = person(app)
    case_id = new_case(found, owner)
    given = give_on_case(app, found, case_id, owner.id, {"treated": "4"})
    deputy, supervisor = person(app), person(app, "supervisor")
    with write(found.engine) as connection:
        connection.execute(cases.update().where(cases.c.id == case_id).values(deputy_id=deputy.id))
    team_member = person(app)  # same team, no case relation beyond team_member
    other_team = person(app, team="South")
    duty = person(app, "duty_manager", team=None)
    for who, status in ((team_member, 403), (duty, 403), (other_team, 404), (person(app, "analyst"), 403),
                        (person(app, "administrator", team=None), 403), (person(app, "auditor", team=None), 403)):
        assert write_reply(who, given.submission_id, "Not mine to send").status_code == status, who.role
        assert "Write a reply" not in who.get(f"/casework/submissions/{given.submission_id}").get_data(as_text=True)
    for who in (owner, deputy, supervisor):
        assert write_reply(who, given.submission_id, f"From {who.role}").status_code == 303, who.role
    assert len(_replies(found)) == 3


def test_break_glass_reads_replies_but_never_writes_one(app: Flask, found: Services) -> None:
    owner = person(app)
    case_id = new_case(found, owner, "VS-88")
    given = give_on_case(app, found, case_id, owner.id, {"treated": "4"})
    secret = canary()
    assert write_reply(owner, given.submission_id, secret).status_code == 303
    south_boss = person(app, "supervisor", team="South")
    assert glass(south_boss, case_id).status_code == 303
    page = south_boss.get(f"/casework/submissions/{given.submission_id}").get_data(as_text=True)
    # [break_glass] read_as = case_owner, and case_owner may read replies; but break-glass is for reading.
    assert secret in page and "Write a reply" not in page
    assert write_reply(south_boss, given.submission_id, "From outside").status_code == 403
    assert len(_replies(found)) == 1


def test_the_contact_notice_says_nothing_but_that_a_reply_waits(app: Flask, found: Services) -> None:
    """Without contact_me nobody is asked to tell the person: no notice, no event."""
    owner = person(app)
    case_id = new_case(found, owner)
    given = give_on_case(app, found, case_id, owner.id, {"treated": "4"}, choices=("store",))
    supervisor = person(app, "supervisor")
    response = write_reply(supervisor, given.submission_id, canary())
    assert response.status_code == 303
    page = supervisor.get(response.headers["Location"]).get_data(as_text=True)
    assert "did not agree to be contacted" in page
    with read(found.engine) as connection:
        assert connection.execute(select(staff_notifications)).all() == []
    assert events(found, Action.REPLY_NOTICE) == []
