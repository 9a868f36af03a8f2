"""A staff member's email for alerts, set on the administrator's screens: checked, audited without the address,
and the old address told of a change (through a real SMTP server)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from casefeedback.admin import staffing
from casefeedback.admin.addresses import BadEmail, email_address
from casefeedback.config import Config
from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events, staff
from tests.alerts.support import SMTPServer
from tests.casework.support import events, person
from tests.conftest import make_config


@pytest.fixture
def config(tmp_path: Path, smtp: SMTPServer) -> Config:
    return make_config(tmp_path / "instance", smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
                       smtp_timeout=1.0)


def email_in_db(found, staff_id):  # type: ignore[no-untyped-def]
    with read(found.engine) as connection:
        return connection.execute(select(staff.c.email).where(staff.c.id == staff_id)).scalar()


def audit_text(found) -> str:  # type: ignore[no-untyped-def]
    with read(found.engine) as connection:
        return json.dumps([list(map(str, row)) for row in connection.execute(select(audit_events)).all()])


@pytest.mark.parametrize("text", [
    "a@b\r\nBcc: x@y", "a@b.org\r\nBcc: x@y.org", "a@b.org\n", "Robin <robin@example.org>", "robin@example",
    "robin@@example.org", "robin example@example.org", ".robin@example.org", "robin..x@example.org",
    "robin@-example.org", "x" * 250 + "@example.org", "robin@example.org,eve@example.org", "\"q\"@example.org"])
def test_only_a_plain_address_is_accepted(text):
    with pytest.raises(BadEmail):
        email_address(text)


def test_an_address_is_stored_with_its_domain_lowercased():
    assert email_address(" Robin.N+alerts@Example.ORG ") == "Robin.N+alerts@example.org"


def test_add_an_account_with_an_email(app, found):
    admin = person(app, "administrator", team=None)
    response = admin.form_post("/admin/staff/new", "/admin/staff/new", {
        "username": "robin", "display_name": "Robin Newstarter", "role": "caseworker", "team": "",
        "email": "robin@Example.org"})
    assert response.status_code == 200
    robin = staffing.account_id(found, "robin")
    assert email_in_db(found, robin) == "robin@example.org"
    (added,) = events(found, "staff.add")
    assert json.loads(added.detail) == {"role": "caseworker", "email": "added"}
    assert "robin@" not in audit_text(found)
    refused = admin.form_post("/admin/staff/new", "/admin/staff/new", {
        "username": "sam", "display_name": "Sam", "role": "caseworker", "team": "", "email": "a@b\r\nBcc: x@y"})
    assert refused.status_code == 400 and "Enter a plain email address" in refused.get_data(as_text=True)
    assert staffing.account_id(found, "sam") is None


def test_changing_an_email_tells_the_old_address_and_audits_no_address(app, found, smtp):
    admin = person(app, "administrator", team=None)
    casey = person(app)
    page = f"/admin/staff/{casey.id}"
    added = admin.form_post(page, f"{page}/email", {"email": "casey@example.org"})
    assert added.status_code == 303
    assert email_in_db(found, casey.id) == "casey@example.org"
    assert smtp.mailbox.messages == []  # nobody to tell: there was no address before
    assert "casey@example.org" in admin.get(page).get_data(as_text=True)

    changed = admin.form_post(page, f"{page}/email", {"email": "thief@elsewhere.example"})
    assert changed.status_code == 303
    assert email_in_db(found, casey.id) == "thief@elsewhere.example"
    (notice,) = smtp.mailbox.to("casey@example.org")
    body = notice.get_payload(decode=True).decode()
    assert "The email address for your casefeedback account was changed on" in body
    assert "If this was not you, tell your administrator." in body
    assert "thief" not in body and smtp.mailbox.to("thief@elsewhere.example") == []

    removed = admin.form_post(page, f"{page}/email", {"email": ""})
    assert removed.status_code == 303 and email_in_db(found, casey.id) is None
    assert len(smtp.mailbox.to("thief@elsewhere.example")) == 1

    updates = events(found, "staff.update")
    assert [json.loads(e.detail) for e in updates] == [{"email": "added"}, {"email": "changed"}, {"email": "removed"}]
    assert {e.object_id for e in updates} == {casey.id} and {e.actor_id for e in updates} == {admin.id}
    assert "example" not in audit_text(found)


def test_a_bad_email_changes_nothing(app, found, smtp):
    admin = person(app, "administrator", team=None)
    casey = person(app)
    page = f"/admin/staff/{casey.id}"
    response = admin.form_post(page, f"{page}/email", {"email": "a@b\r\nBcc: x@y"})
    assert response.status_code == 400 and "Enter a plain email address" in response.get_data(as_text=True)
    assert email_in_db(found, casey.id) is None and events(found, "staff.update") == []
    assert smtp.mailbox.messages == []
    assert admin.form_post(page, f"/admin/staff/{admin.id}/email", {"email": "me@example.org"}).status_code == 403


def test_without_smtp_the_notice_is_skipped_and_logged_without_the_address(app, found, caplog, smtp):
    admin = person(app, "administrator", team=None)
    casey = person(app)
    page = f"/admin/staff/{casey.id}"
    admin.form_post(page, f"{page}/email", {"email": "casey@example.org"})
    unset = Config(**{**vars(found.config), "smtp_host": None})
    with caplog.at_level(logging.INFO, logger="casefeedback.admin.addresses"):
        change = staffing.set_email(type(found)(**{**vars(found), "config": unset}), staffing.COMMAND_LINE,
                                    casey.id, "new@example.org")
    assert change == "changed" and email_in_db(found, casey.id) == "new@example.org"
    assert "could not be sent: no SMTP server is configured" in caplog.text
    assert "example.org" not in caplog.text and smtp.mailbox.messages == []
