"""A person who agreed to be contacted is told there is a reply — by the people who hold their contact details
(the case's caseworker and deputy), asked through a notice and a real email that carry no word of the reply.
A canary typed in a reply is in no email, notice, log, URL, audit event or database file."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from casefeedback.audit.actions import Action
from casefeedback.config import Config
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_events, staff, staff_notifications
from tests.alerts.support import SMTPServer
from tests.casework.reply_support import give_on_case, write_reply
from tests.casework.support import events, new_case, person
from tests.conftest import canary, make_config


@pytest.fixture
def config(tmp_path: Path, smtp: SMTPServer) -> Config:
    return make_config(tmp_path / "instance", smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
                       smtp_timeout=2.0)


def _set_email(found: Services, staff_id: str, address: str) -> None:
    with write(found.engine) as connection:
        connection.execute(update(staff).where(staff.c.id == staff_id).values(email=address))


def _files(config: Config) -> bytes:
    """Every file the instance wrote: the database, its WAL, the logs, the ledger."""
    return b"".join(path.read_bytes() for path in Path(config.instance_dir).rglob("*") if path.is_file())


def test_the_notice_and_email_say_only_that_a_reply_is_waiting(app: Flask, found: Services, config: Config,
                                                               smtp: SMTPServer) -> None:
    owner = person(app)
    _set_email(found, owner.id, "owner@example.org")
    case_id = new_case(found, owner, "VS-1234")
    given = give_on_case(app, found, case_id, owner.id, {"treated": "2"}, choices=("store", "contact_me"))
    supervisor = person(app, "supervisor")
    secret = canary()
    response = write_reply(supervisor, given.submission_id, f"Dear you, {secret}. We called the police back.")
    assert response.status_code == 303 and secret not in response.headers["Location"]
    said = supervisor.get(response.headers["Location"]).get_data(as_text=True)
    assert "their caseworker has been asked to tell them there is a reply" in said

    (mail,) = smtp.mailbox.to("owner@example.org")
    body = mail.get_payload(decode=True).decode()
    assert mail["Subject"] == "A reply is waiting to be passed on"
    assert "tell them only that there is a reply" in body and "/casework/notifications" in body
    raw = smtp.mailbox.raw()
    assert secret.encode() not in raw and b"VS-1234" not in raw and b"police" not in raw

    with read(found.engine) as connection:
        (notice,) = connection.execute(select(staff_notifications)).all()
    assert notice.recipient_id == owner.id and notice.kind == "reply_waiting" and secret not in notice.message
    assert "VS-1234" in notice.message  # in the app, to someone on the case, the case may be named
    (told,) = events(found, Action.REPLY_NOTICE)
    assert '"told":1' in told.detail and '"emails":1' in told.detail
    with read(found.engine) as connection:
        assert secret not in " ".join(str(v) for row in connection.execute(select(audit_events)) for v in row)
    found.engine.dispose()
    assert secret.encode() not in _files(config)


def test_the_writer_who_holds_the_details_is_asked_on_the_page_and_nobody_is_emailed(
        app: Flask, found: Services, smtp: SMTPServer) -> None:
    owner = person(app)
    _set_email(found, owner.id, "owner@example.org")
    case_id = new_case(found, owner)
    given = give_on_case(app, found, case_id, owner.id, {"treated": "2"}, choices=("store", "contact_me"))
    response = write_reply(owner, given.submission_id, canary())
    said = owner.get(response.headers["Location"]).get_data(as_text=True)
    assert "using the contact details on the case file, tell them only" in said
    assert smtp.mailbox.messages == []
    (told,) = events(found, Action.REPLY_NOTICE)
    assert '"writer_tells":true' in told.detail


def test_no_contact_agreed_means_no_notice_and_no_email(app: Flask, found: Services, smtp: SMTPServer) -> None:
    owner = person(app)
    _set_email(found, owner.id, "owner@example.org")
    case_id = new_case(found, owner)
    given = give_on_case(app, found, case_id, owner.id, {"treated": "2"}, choices=("store",))
    supervisor = person(app, "supervisor")
    response = write_reply(supervisor, given.submission_id, canary())
    assert "did not agree to be contacted" in supervisor.get(response.headers["Location"]).get_data(as_text=True)
    assert smtp.mailbox.messages == [] and events(found, Action.REPLY_NOTICE) == []
    with read(found.engine) as connection:
        assert connection.execute(select(staff_notifications)).all() == []
