"""Save and resume: sealed as the person goes, a resume code they choose, erased on leaving or expiry."""

from __future__ import annotations

import json
import os

from sqlalchemy import func, select, update

from casefeedback.intake import drafts as drafts_service
from casefeedback.intake.drafts import purge_expired_drafts
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events, draft_answers, drafts
from tests import stores
from tests.conftest import canary
from tests.helpers import ServiceUser, location

BASE = "/feedback/victim-support"


def count(found, table) -> int:
    with read(found.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def events(found, action: str) -> list:
    with read(found.engine) as connection:
        return connection.execute(select(audit_events).where(audit_events.c.action == action)
                                  .order_by(audit_events.c.seq)).all()


def checkpoint(found) -> None:
    stores.checkpoint(found.engine)


def files(config) -> list[bytes]:
    """Every file of the instance and of its database (the SQLCipher file, or PostgreSQL's own files)."""
    found = []
    for path in [*config.instance_dir.rglob("*"), *stores.store_files(config)]:
        try:
            if path.is_file():
                found.append(path.read_bytes())
        except FileNotFoundError:  # PostgreSQL recycled a WAL segment while we looked
            continue
    return found


def test_answers_are_saved_sealed_as_the_person_goes(client, found, config):
    user = ServiceUser(client)
    user.consent("store")
    secret = canary()
    user.answer_question("treated", "4")
    user.answer_question("anything_else", f"My words {secret}")
    with read(found.engine) as connection:
        rows = connection.execute(select(draft_answers)).all()
    assert {r.question_id for r in rows} == {"treated", "anything_else"}
    assert all(secret.encode() not in r.ciphertext and r.ciphertext[0] == 1 for r in rows)
    assert all(r.kek_id == found.keyring.active_id and len(r.wrapped) > 32 for r in rows)
    assert len({r.data_key_id for r in rows}) == 2  # a data key per saved value
    for blob in files(config):
        assert secret.encode() not in blob
    checkpoint(found)
    for blob in files(config):
        assert secret.encode() not in blob


def test_every_open_of_a_draft_is_decided_and_audited_without_content(client, found):
    user = ServiceUser(client)
    user.consent("store")
    secret = canary()
    user.answer_question("anything_else", secret)
    before = len(events(found, "draft.open"))
    assert secret in client.get(f"{BASE}/q/anything_else").get_data(as_text=True)  # Back shows it
    opened = events(found, "draft.open")[before:]
    assert len(opened) == 1
    assert opened[0].purpose == "own_record" and opened[0].outcome == "allowed"
    assert json.loads(opened[0].detail)["fields"] == 1 and secret not in opened[0].detail


def test_a_sealed_value_moved_to_another_question_does_not_open(client, found):
    user = ServiceUser(client)
    user.consent("store")
    first, second = canary(), canary()
    user.answer_question("safer", first)
    user.answer_question("anything_else", second)
    with write(found.engine) as connection:
        moved = connection.execute(select(draft_answers).where(draft_answers.c.question_id == "safer")).one()
        connection.execute(update(draft_answers).where(draft_answers.c.question_id == "anything_else")
                           .values(ciphertext=moved.ciphertext))
    page = client.get(f"{BASE}/q/anything_else").get_data(as_text=True)
    assert first not in page and second not in page  # shown as not answered, never as the wrong text
    assert events(found, "draft.open")[-1].outcome == "integrity_failure"


def test_only_a_keyed_hash_of_the_resume_code_is_kept(client, found):
    user = ServiceUser(client)
    user.consent("store")
    code = user.keep_resume_code()
    assert len(code.replace("-", "")) == 20
    with read(found.engine) as connection:
        row = connection.execute(select(drafts)).one()
        audit = " ".join(e.detail for e in connection.execute(select(audit_events)).all())
    assert row.resume_hash and code.replace("-", "") not in row.resume_hash and len(row.resume_hash) == 64
    assert code.replace("-", "") not in audit
    assert code not in client.get_cookie("casefeedback").value


def test_the_resume_page_shows_the_code_once_and_explains_how_long_it_works(client):
    user = ServiceUser(client)
    user.consent("store")
    page = user.post(f"{BASE}/save", {"action": "code"}).get_data(as_text=True)
    assert "Your answers are saved" in page and "It works for 14 days after your last change" in page
    assert "Cymraeg" not in page  # no language link to lose the code by
    assert 'class="receipt-code"' not in client.get(f"{BASE}/save").get_data(as_text=True)


def test_coming_back_with_the_code_on_another_device(app, client, found):
    user = ServiceUser(client)
    user.consent("store", "contact_me")
    secret = canary()
    user.answer_question("treated", "2")
    user.skip("listened")
    user.answer_question("informed", "no")
    user.back("easy_to_reach")
    code = user.keep_resume_code()
    assert location(user.leave()).startswith("https://")
    assert count(found, drafts) == 1  # kept: they chose a code

    other = ServiceUser(app.test_client())
    response = other.resume(code.lower().replace("-", " "))  # as a person might type it
    assert location(response) == f"{BASE}/q/easy_to_reach"
    check = other.check_answers().get_data(as_text=True)
    assert "Skipped" in check and ">2</dd>" in check and ">No</dd>" in check
    other.answer_question("anything_else", secret)
    receipt = other.answer({})
    assert receipt.status_code == 200 and "receipt-code" in receipt.get_data(as_text=True)
    assert (count(found, drafts), count(found, draft_answers)) == (0, 0)


def test_leaving_erases_a_draft_without_a_code(client, found):
    user = ServiceUser(client)
    user.consent("store")
    user.answer_question("treated", "1")
    assert count(found, draft_answers) == 1
    user.leave()
    assert (count(found, drafts), count(found, draft_answers)) == (0, 0)
    erased = events(found, "draft.erase")
    assert len(erased) == 1 and json.loads(erased[0].detail) == {"fields": 1, "reason": "left"}


def test_deleting_on_request(client, found):
    user = ServiceUser(client)
    user.consent("store")
    user.answer_question("treated", "1")
    page = user.post(f"{BASE}/save", {"action": "delete"}).get_data(as_text=True)
    assert "Your answers have been deleted" in page
    assert (count(found, drafts), count(found, draft_answers)) == (0, 0)
    assert client.get(f"{BASE}/q/treated").status_code == 303


def test_opening_an_invitation_lets_go_of_an_unkept_draft(app, client, found, staff_factory):
    from tests.intake.test_leaving_and_invitations import invitation

    owner_id, *_ = staff_factory()
    user = ServiceUser(client)
    user.consent("store")
    user.answer_question("treated", "1")
    client.get(f"/feedback/i/{invitation(found, owner_id)}")
    assert count(found, drafts) == 0


def test_drafts_are_kept_for_draft_keep_after_the_last_change_then_purged(client, found, clock):
    user = ServiceUser(client)
    user.consent("store")
    user.answer_question("treated", "3")
    clock.advance(days=10)
    user.answer_question("listened", "yes")  # a change: the time starts again
    clock.advance(days=13, hours=23)
    with write(found.engine) as connection:
        assert purge_expired_drafts(connection, found.audit, clock()) == 0
    assert count(found, draft_answers) == 2
    clock.advance(hours=1)
    with write(found.engine) as connection:
        assert purge_expired_drafts(connection, found.audit, clock()) == 1
    assert (count(found, drafts), count(found, draft_answers)) == (0, 0)
    purged = events(found, "draft.purge")
    assert len(purged) == 1
    assert json.loads(purged[0].detail) == {"drafts": 1, "fields": 2, "reason": "expired"}
    with write(found.engine) as connection:  # nothing more to do: nothing audited
        assert purge_expired_drafts(connection, found.audit, clock()) == 0
    assert len(events(found, "draft.purge")) == 1


def test_the_purge_takes_only_expired_drafts(app, found, clock):
    first = ServiceUser(app.test_client())
    first.consent("store")
    first.answer_question("treated", "3")
    clock.advance(days=7)
    second = ServiceUser(app.test_client())
    second.consent("store")
    second.answer_question("treated", "4")
    clock.advance(days=7, seconds=1)
    with write(found.engine) as connection:
        assert purge_expired_drafts(connection, found.audit, clock()) == 1
    assert count(found, draft_answers) == 1
    assert second.check_answers().status_code == 200
    gone = first.check_answers()  # purged: the session's draft no longer exists
    assert gone.status_code == 410 and "This page is no longer available" in gone.get_data(as_text=True)


def test_an_expired_draft_in_the_session_is_erased_with_a_kind_page(client, found, clock):
    user = ServiceUser(client)
    user.consent("store")
    user.answer_question("treated", "3")
    clock.advance(days=15)
    response = client.get(f"{BASE}/q/listened")
    page = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "Your unfinished answers have been deleted" in page and "Nothing was sent" in page
    assert count(found, drafts) == 0
    saving = user.post(f"{BASE}/q/listened", {"answer": "yes"}, page=user.page(BASE))
    assert saving.status_code == 303 and count(found, draft_answers) == 0  # no session draft any more


def test_a_draft_that_expires_between_loading_and_saving_stays_gone(client, found, clock):
    user = ServiceUser(client)
    user.consent("store")
    policy = found.policies.service("victim-support")
    with read(found.engine) as connection:
        draft_id = connection.execute(select(drafts.c.id)).scalar_one()
    clock.advance(days=15)
    try:
        drafts_service.save_answers(found, policy, draft_id, {"treated": "3"})
    except drafts_service.DraftGone:
        pass
    else:
        raise AssertionError("an expired draft took an answer")
    assert count(found, draft_answers) == 0


def test_only_valid_answers_can_be_saved(found):
    policy = found.policies.service("victim-support")
    try:
        drafts_service.save_answers(found, policy, os.urandom(4).hex(), {"treated": "7"})
    except ValueError:
        pass
    else:
        raise AssertionError("an invalid answer was sealed")
