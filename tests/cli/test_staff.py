"""`casefeedback staff add|disable|reset|list`, run as real processes: clear messages, audited, sessions ended."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from casefeedback.config import Config
from casefeedback.storage.engine import open_engine, read
from casefeedback.storage.tables import audit_events, staff, staff_mfa
from tests.test_cli import run

PASSWORD = "a-long-enough-password"


@pytest.fixture(scope="module")
def instance(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("staff-cli") / "instance"
    assert run("init", instance=path).returncode == 0
    return path


def query(instance: Path, statement):  # type: ignore[no-untyped-def]
    config = Config.from_environment({"CASEFEEDBACK_INSTANCE": str(instance), "CASEFEEDBACK_ENV": "testing"})
    engine = open_engine(config.database_path, config.secrets.database.value)
    try:
        with read(engine) as connection:
            return connection.execute(statement).all()
    finally:
        engine.dispose()


def test_add_list_disable_reset(instance):
    added = run("staff", "add", "--username", "chris", "--name", "Chris Caseworker", "--role", "caseworker",
                "--team", "North", instance=instance, CASEFEEDBACK_NEW_PASSWORD=PASSWORD)
    assert added.returncode == 0, added.stderr
    assert "set up an authenticator app" in added.stdout
    listed = run("staff", "list", instance=instance)
    assert listed.returncode == 0
    line = next(x for x in listed.stdout.splitlines() if x.startswith("chris"))
    assert "caseworker" in line and "North" in line and "no authenticator yet" in line

    disabled = run("staff", "disable", "chris", instance=instance)
    assert disabled.returncode == 0 and "every session of the account has ended" in disabled.stdout
    assert "disabled" in run("staff", "list", instance=instance).stdout

    reset = run("staff", "reset", "chris", "--mfa", "--enable", instance=instance,
                CASEFEEDBACK_NEW_PASSWORD="another-long-password")
    assert reset.returncode == 0, reset.stderr
    (row,) = query(instance, select(staff.c.enabled, staff.c.id).where(staff.c.username == "chris"))
    assert row.enabled
    assert query(instance, select(staff_mfa).where(staff_mfa.c.staff_id == row.id)) == []
    actions = [r.action for r in query(instance, select(audit_events.c.action, audit_events.c.actor_role)
                                       .where(audit_events.c.actor_role == "cli"))]
    assert actions == ["staff.add", "staff.disable", "staff.reset"]


@pytest.mark.parametrize(("args", "message"), [
    (("staff", "disable", "nobody"), "there is no staff account called 'nobody'"),
    (("staff", "reset", "nobody", "--keep-password"), "nothing to reset"),
    (("staff", "add", "--username", "x y", "--name", "X", "--role", "caseworker"), "A username is 2 to 64"),
    (("staff", "add", "--username", "pat", "--name", "Pat", "--role", "wizard"), "'wizard' is not a role"),
])
def test_mistakes_are_one_clear_line_and_exit_1(instance, args, message):
    result = run(*args, instance=instance, CASEFEEDBACK_NEW_PASSWORD=PASSWORD)
    assert result.returncode == 1
    assert result.stderr.startswith("casefeedback: ") and message in result.stderr
    assert "Traceback" not in result.stderr


def test_add_and_update_an_email_address(tmp_path):
    from tests.alerts.support import SMTPServer

    instance = tmp_path / "instance"
    assert run("init", instance=instance).returncode == 0
    smtp = SMTPServer()
    smtp.start()
    try:
        mail = {"CASEFEEDBACK_SMTP_HOST": "127.0.0.1", "CASEFEEDBACK_SMTP_PORT": str(smtp.port),
                "CASEFEEDBACK_SMTP_SECURITY": "none", "CASEFEEDBACK_SMTP_TIMEOUT": "2"}
        added = run("staff", "add", "--username", "dana", "--name", "Dana Duty", "--role", "duty_manager",
                    "--email", "dana@Example.org", instance=instance, CASEFEEDBACK_NEW_PASSWORD=PASSWORD, **mail)
        assert added.returncode == 0, added.stderr
        refused = run("staff", "update", "dana", "--email", "a@b\r\nBcc: x@y", instance=instance, **mail)
        assert refused.returncode != 0 and "plain email address" in refused.stderr
        assert "x@y" not in refused.stderr
        changed = run("staff", "update", "dana", "--email", "dana.new@example.org", instance=instance, **mail)
        assert changed.returncode == 0, changed.stderr
        assert query(instance, select(staff.c.email).where(staff.c.username == "dana")) == [("dana.new@example.org",)]
        (notice,) = smtp.mailbox.to("dana@example.org")
        assert "If this was not you" in notice.get_payload(decode=True).decode()
        # Without SMTP the change is still made; the notice is skipped, and no log line names an address.
        removed = run("staff", "update", "dana", "--no-email", instance=instance)
        assert removed.returncode == 0, removed.stderr
        assert "example.org" not in removed.stderr + removed.stdout
        assert query(instance, select(staff.c.email).where(staff.c.username == "dana")) == [(None,)]
        assert run("staff", "update", "dana", instance=instance).returncode != 0
    finally:
        smtp.stop()
    rows = query(instance, select(audit_events.c.action, audit_events.c.detail)
                 .where(audit_events.c.actor_role == "cli"))
    assert [(r.action, json.loads(r.detail)) for r in rows] == [
        ("staff.add", {"role": "duty_manager", "email": "added"}), ("staff.update", {"email": "changed"}),
        ("staff.update", {"email": "removed"})]
    assert "example" not in str(rows)
