"""Viewing, downloading (JSON) and printing one's own feedback, and what is added later."""

from __future__ import annotations

import json

from tests.conftest import canary
from tests.receipts.receipt_holder import BASE, ReceiptHolder, give


def test_the_download_is_a_json_attachment_in_the_documented_shape(client):
    secret = canary()
    code, _ = give(client, {"treated": "4", "listened": "no", "anything_else": secret},
                   choices=("store", "contact_me"))
    person = ReceiptHolder(client)
    person.check(code)
    person.add({"safer": "more street lights"})
    response = client.get(f"{BASE}/yours/download")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="my-feedback.json"'
    assert response.headers["Cache-Control"].startswith("no-store")
    record = json.loads(response.get_data(as_text=True))
    assert (record["format"], record["version"], record["status"]) == ("casefeedback.own-record", 2, "active")
    assert record["replies"] == []  # nobody has replied yet (tests/casework/test_replies.py writes one)
    assert record["service"] == {"id": "victim-support", "name": "Victim support"}
    assert record["sent_at"].endswith("Z") and record["language"] == "en"
    assert record["consent"]["choices"] == {"store": True, "contact_me": True, "share_insight": False}
    answers = {a["question_id"]: a for a in record["answers"]}
    assert answers["treated"]["answer"] == "4" and answers["treated"]["kind"] == "rating"
    assert answers["listened"]["answer"] == "no" and answers["listened"]["answer_text"] == "No"
    assert answers["anything_else"]["answer"] == secret and answers["anything_else"]["state"] == "open"
    assert answers["anything_else"]["kept_as"] == "What you write in your own words"
    assert [a["answer"] for a in record["additions"][0]["answers"]] == ["more street lights"]


def test_the_printable_page_shows_everything_with_the_exit_button(client):
    secret = canary()
    code, _ = give(client, {"treated": "2", "anything_else": secret})
    person = ReceiptHolder(client)
    person.check(code)
    page = client.get(f"{BASE}/yours/print").get_data(as_text=True)
    assert secret in page and "Your feedback to Victim support" in page
    assert "Print this page" in page and "Exit this page" in page


def test_prefer_not_to_say_and_skipped_questions_read_plainly(client):
    code, _ = give(client, {"treated": "prefer_not_to_say"})
    person = ReceiptHolder(client)
    person.check(code)
    page = person.overview().get_data(as_text=True)
    assert "Prefer not to say" in page and "prefer_not_to_say" not in page
    code, _ = give(client, {})
    person.check(code)
    assert "You skipped every question" in person.overview().get_data(as_text=True)


def test_nothing_can_be_seen_without_the_code(client):
    secret = canary()
    give(client, {"anything_else": secret})
    for path in ("yours", "yours/download", "yours/print", "yours/add", "yours/contact", "yours/withdraw"):
        response = client.get(f"{BASE}/{path}")
        assert response.status_code == 403, path
        assert secret not in response.get_data(as_text=True)


def test_a_forged_session_cannot_name_someone_elses_feedback(app, client):
    secret = canary()
    _, other_id = give(app.test_client(), {"anything_else": secret})
    # The session cookie is signed with the instance's session secret: a browser
    # that writes its own (here: signed with another key) is not believed.
    from flask.sessions import SecureCookieSessionInterface

    forger = app.test_client()
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    import itsdangerous

    forged = itsdangerous.URLSafeTimedSerializer(b"not-the-secret", salt="cookie-session",
                                                 serializer=serializer.serializer,
                                                 signer_kwargs={"key_derivation": "hmac", "digest_method":
                                                                serializer.signer_kwargs["digest_method"]})
    value = forged.dumps({"receipt": {"id": other_id, "since": 1e12, "seen": 1e12}})
    forger.set_cookie("casefeedback", value)
    response = forger.get(f"{BASE}/yours")
    # Not believed, so this browser holds nothing and never came in: the neutral page.
    assert response.status_code == 410 and secret not in response.get_data(as_text=True)
