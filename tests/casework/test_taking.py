"""Taking feedback by phone, end to end through the real forms: consent read out and recorded word for word,
answers sealed, alerts raised as for the web form, the receipt code read out and emailed; and bad input refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from casefeedback.alerts.delivery import deliver_due
from casefeedback.codes import lookup_hash
from casefeedback.config import Config
from casefeedback.policy.consent_text import consent_script
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import (
    alerts,
    answers,
    audit_events,
    consent_receipts,
    staff,
    submission_channels,
    submissions,
)
from tests.alerts.support import SMTPServer
from tests.casework.support import new_case, person
from tests.casework.taking_support import CHOICES, agree, consent_page, send, setting, take
from tests.conftest import canary, csrf_token, make_config

RECEIPT = re.compile(r'class="receipt-code"[^>]*>([A-Z0-9-]+)<')


@pytest.fixture
def config(tmp_path: Path, smtp: SMTPServer) -> Config:
    return make_config(tmp_path / "instance", smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
                       smtp_timeout=2.0)


def _count(found: Services, table) -> int:  # type: ignore[no-untyped-def]
    with read(found.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_feedback_taken_by_phone_in_welsh_is_sealed_alerted_and_its_consent_text_recorded(
        app: Flask, found: Services, config: Config, smtp: SMTPServer) -> None:
    worker = person(app)
    with write(found.engine) as connection:
        connection.execute(update(staff).where(staff.c.id == worker.id).values(email="worker@example.org"))
    case_id = new_case(found, worker, "PHONE-1")
    words = canary()
    chosen = setting(case_id, language="cy")
    page = consent_page(worker, chosen).get_data(as_text=True)
    policy = found.policies.services["victim-support"]
    assert "Hoffwn i ofyn rhai cwestiynau" in page and 'lang="cy"' in page  # read out in the person's language
    done = take(worker, chosen, {"treated": "1", "safe_now": "no", "anything_else": f"Mae {words} yn digwydd"})
    assert done.status_code == 200
    html = done.get_data(as_text=True)
    code = RECEIPT.search(html).group(1)  # type: ignore[union-attr]
    assert "Says they are not safe now" in html and "Diolch am ddweud wrthon ni" in html  # to read out, in Welsh
    with read(found.engine) as connection:
        stored = connection.execute(select(submissions)).one()
        channel = connection.execute(select(submission_channels)).one()
        consent = connection.execute(select(consent_receipts)).one()
        raised = set(connection.execute(select(alerts.c.rule_id)).scalars())
        questions = set(connection.execute(select(answers.c.question_id)).scalars())
    assert stored.case_id == case_id and stored.language == "cy"
    assert stored.receipt_hash == lookup_hash(config.secrets.lookup.value, "receipt", code.replace("-", ""))
    assert (channel.channel, channel.consent_method, channel.recorded_by) == ("phone", "verbal", worker.id)
    assert channel.consent_text == consent_script(policy, "cy")  # word for word, in the language used
    assert consent.language == "cy" and '"store": true' in consent.choices
    assert raised == {"unsafe-now", "treated-badly"}  # the same rules as the web form
    assert questions == {"treated", "safe_now", "anything_else"}  # skipped questions store nothing

    # The case page says how it came; the case owner reads it through the access decision.
    assert "Phone" in worker.get(f"/casework/cases/{case_id}").get_data(as_text=True)
    opened = worker.get(f"/casework/submissions/{stored.id}").get_data(as_text=True)
    assert words in opened and "Came by: <strong>Phone</strong>" in opened and "agreed aloud" in opened

    # The code, emailed to the person; the alert, emailed to the caseworker. Neither holds a word they said.
    sent_page = worker.client.post("/casework/take/send-code", data={
        "csrf_token": csrf_token(html), "submission_id": stored.id, "receipt_code": code,
        "language": "cy", "email": "person@example.net"})
    assert sent_page.status_code == 200 and "Code sent" in sent_page.get_data(as_text=True)
    deliver_due(found)
    (receipt_mail,) = smtp.mailbox.to("person@example.net")
    assert code in receipt_mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert smtp.mailbox.to("worker@example.org")
    assert words.encode() not in smtp.mailbox.raw()
    with read(found.engine) as connection:
        trail = " ".join(str(tuple(row)) for row in connection.execute(select(audit_events)))
    assert "person@example.net" not in trail and code not in trail and words not in trail
    assert "submission.take" in trail and "receipt.send" in trail

    # Nowhere on disk: the database, its WAL, the log.
    found.engine.dispose()
    for path in (config.database_path, Path(f"{config.database_path}-wal"), config.log_path):
        if path.exists():
            assert words.encode() not in path.read_bytes(), path
            assert b"person@example.net" not in path.read_bytes(), path


def test_a_person_who_does_not_agree_leaves_nothing_stored(app: Flask, found: Services) -> None:
    worker = person(app)
    declined, _ = agree(worker, setting(), {**CHOICES, "store": "no"})
    assert declined.status_code == 200 and "Nothing has been kept" in declined.get_data(as_text=True)
    assert _count(found, submissions) == 0


def test_a_declined_consent_cannot_be_sent_round_the_consent_page(app: Flask, found: Services) -> None:
    worker = person(app)
    _page, token = agree(worker, setting())
    refused = send(worker, setting(), {"treated": "5"}, token, {**CHOICES, "store": "no"})
    assert refused.status_code == 400 and _count(found, submissions) == 0


@pytest.mark.parametrize(("query", "message"), [
    ({"channel": "kiosk"}, "Choose how the person is giving their feedback."),  # not staff-assisted
    ({"channel": "owl"}, "Choose how the person is giving their feedback."),
    ({"language": "fr"}, "Choose the language you are speaking with the person."),
    ({"service": "nope"}, "Choose a service."),
])
def test_a_bad_first_step_is_refused_with_a_message(app: Flask, query: dict[str, str], message: str) -> None:
    worker = person(app)
    page = consent_page(worker, {**setting(), **query})
    assert page.status_code == 400 and message in page.get_data(as_text=True)


def test_a_consent_answer_left_out_is_refused_with_a_message(app: Flask, found: Services) -> None:
    worker = person(app)
    page, _ = agree(worker, setting(), {"store": "yes", "share_insight": "yes"})
    assert page.status_code == 400
    assert "Record what the person said to this: yes or no" in page.get_data(as_text=True)


@pytest.mark.parametrize(("answers", "problem"), [
    ({"anything_else": "x" * 4001}, "characters too long"),
    ({"treated": "7"}, "Choose one of"),
    ({"listened": "perhaps"}, "Choose one of"),
])
def test_a_bad_answer_is_refused_by_question_and_nothing_is_written(
        app: Flask, found: Services, answers: dict[str, str], problem: str) -> None:
    worker = person(app)
    _page, token = agree(worker, setting())
    refused = send(worker, setting(), {"safe_now": "no", **answers}, token)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and problem in html and 'href="#q-' in html
    assert _count(found, submissions) == 0 and _count(found, alerts) == 0


def test_a_tampered_setting_or_a_stale_form_is_refused(app: Flask, found: Services) -> None:
    worker = person(app)
    _page, token = agree(worker, setting())
    assert send(worker, {**setting(), "channel": "kiosk"}, {"treated": "5"}, token).status_code == 400
    assert send(worker, setting(), {"treated": "5"}, "not-a-token").status_code == 400
    assert _count(found, submissions) == 0


def test_a_case_not_yours_is_not_found(app: Flask, found: Services) -> None:
    owner, other = person(app), person(app, team="South")
    case_id = new_case(found, owner)
    assert consent_page(other, setting(case_id)).status_code == 404


def test_the_code_is_sent_only_for_feedback_you_took_with_its_own_code(app: Flask, found: Services) -> None:
    worker, other = person(app), person(app)
    done = take(worker, setting(), {"treated": "4"})
    html = done.get_data(as_text=True)
    code = RECEIPT.search(html).group(1)  # type: ignore[union-attr]
    with read(found.engine) as connection:
        submission_id = connection.execute(select(submissions.c.id)).scalar_one()
    form = {"submission_id": submission_id, "receipt_code": code, "email": "p@example.net"}
    token_page = worker.get("/casework/take").get_data(as_text=True)
    wrong = worker.client.post("/casework/take/send-code", data={
        **form, "receipt_code": "AAAA-BBBB-CCCC-DDDD-EEEE", "csrf_token": csrf_token(html)})
    assert wrong.status_code == 403
    other_page = other.get("/casework/take").get_data(as_text=True)
    assert other.client.post("/casework/take/send-code", data={
        **form, "csrf_token": csrf_token(other_page)}).status_code == 403
    bad_email = worker.client.post("/casework/take/send-code", data={
        **form, "email": "p@example.net\nBcc: x@evil.example", "csrf_token": csrf_token(token_page)})
    assert bad_email.status_code == 400 and "Enter an email address" in bad_email.get_data(as_text=True)
