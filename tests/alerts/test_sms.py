"""Alert texts through GOV.UK Notify (its stand-in on loopback), through the same outbox, retries and escalation
as email; and alert webhooks any receiver verifies with the `standardwebhooks` library."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from casefeedback.admin import staffing
from casefeedback.alerts.channels import secret_text
from casefeedback.alerts.delivery import deliver_due
from casefeedback.alerts.sms import BadMobile, mobile_number
from casefeedback.cli import main
from casefeedback.config import Config
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import alert_notifications, staff
from tests.alerts.support import Receiver, SMTPServer, all_alerts, log_text, told
from tests.casework.support import feedback
from tests.conftest import canary, make_config, notify_settings
from tests.notify import ALERT_TEMPLATE, NotifyStandIn

OWNER, DEPUTY = "+447700900001", "+447700900002"


@pytest.fixture
def config(tmp_path: Path, smtp: SMTPServer, receiver: Receiver, notify: NotifyStandIn) -> Config:
    instance = tmp_path / "instance"
    return make_config(instance, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none", smtp_timeout=1.0,
                       alert_webhook_url=receiver.url, public_url="https://cf.example.org",
                       **notify_settings(instance, notify))


@pytest.fixture
def mobiles(found, team):
    staffing.set_mobile(found, staffing.COMMAND_LINE, team.owner.id, "07700 900001")
    staffing.set_mobile(found, staffing.COMMAND_LINE, team.deputy.id, "+44 7700 900002")


def statuses(found, channel: str) -> list[str]:
    with read(found.engine) as connection:
        return sorted(connection.execute(select(alert_notifications.c.status)
                                         .where(alert_notifications.c.channel == channel)).scalars())


def test_an_urgent_alert_is_texted_to_the_case_owner_without_content(app, found, team, mobiles, notify, smtp):
    secret = canary()
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no", "anything_else": f"{secret} kill me"})
    raised = all_alerts(found)
    report = deliver_due(found)
    assert report.dead == 0 and report.failed == 0
    texts = notify.texts_to(OWNER)
    assert len(texts) == len(raised) and not notify.texts_to(DEPUTY)  # only those told: the owner, for now
    assert all(s.template_id == ALERT_TEMPLATE for s in notify.sent)
    for alert in raised:
        (text,) = [t for t in texts if alert.reference in t]
        assert f"https://cf.example.org/alerts/a/{alert.reference}" in text and "urgent" in text
    everything = "".join(s.raw.decode() for s in notify.sent)
    assert secret not in everything and "unsafe-now" not in everything and "harm-words" not in everything
    assert {s.reference for s in notify.sent} == {f"alert-{a.reference}" for a in raised}
    assert OWNER not in log_text(found) and "7700900001" not in log_text(found)
    assert len(smtp.mailbox.messages) == len(raised)  # the email went too


def test_notify_failing_is_retried_then_delivered_and_never_lost(app, found, team, mobiles, notify, clock):
    notify.fail_next = [500, 429]
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    assert deliver_due(found).failed == 1 and statuses(found, "sms") == ["pending"]
    clock.advance(minutes=1)
    assert deliver_due(found).failed == 1
    clock.advance(minutes=1)
    assert deliver_due(found).sent == 1 and statuses(found, "sms") == ["sent"]
    assert len(notify.texts_to(OWNER)) == 1
    assert "notify http 500" in log_text(found) and OWNER not in log_text(found)


def test_a_text_that_cannot_be_delivered_escalates_when_nothing_else_reached_them(app, found, team, mobiles,
                                                                                   notify, clock):
    with write(found.engine) as connection:  # the owner has no email: the text is the only way to reach them
        connection.execute(update(staff).where(staff.c.id == team.owner.id).values(email=None))
    notify.fail_next = [403] * 50
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    for _ in range(12):
        deliver_due(found)
        clock.advance(minutes=16)
        if statuses(found, "sms")[:1] == ["dead"]:
            break
    assert "dead" in statuses(found, "sms")
    assert (team.deputy.id, 1, "case_deputy") in told(found, alert.id)  # told at once, not at the deadline
    notify.fail_next = []
    deliver_due(found)
    assert notify.texts_to(DEPUTY)


@pytest.mark.parametrize("typed", ["", "01632 960000", "+1 202 555 0100", "07700 9001", "0770090000123"])
def test_a_staff_mobile_must_be_a_uk_mobile(typed):
    with pytest.raises(BadMobile):
        mobile_number(typed or "x")


def test_the_command_sets_a_mobile_and_refuses_a_bad_one(found, team, config, monkeypatch):
    monkeypatch.setenv("CASEFEEDBACK_INSTANCE", str(config.instance_dir))
    runner = CliRunner()
    bad = runner.invoke(main, ["staff", "update", team.owner.username, "--mobile", "12345"])
    assert bad.exit_code == 1 and "UK mobile" in bad.output and "Traceback" not in bad.output
    good = runner.invoke(main, ["staff", "update", team.owner.username, "--mobile", "07700 900 009"])
    assert good.exit_code == 0, good.output
    with read(found.engine) as connection:
        assert connection.execute(select(staff.c.mobile).where(staff.c.id == team.owner.id)).scalar_one() \
            == "+447700900009"


def test_a_receiver_verifies_alert_webhooks_with_the_standard_library(app, found, team, receiver, clock):
    clock.now = datetime.now(UTC)  # the library checks freshness against the real clock
    receiver.secret = secret_text(found.config.secrets.webhook.value)
    secret = canary()
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no", "safer": secret})
    deliver_due(found)
    assert receiver.received and not receiver.refused
    assert all(secret.encode() not in hook.body for hook in receiver.received)
    ids = [hook.header("webhook-id") for hook in receiver.received]
    assert len(set(ids)) == len(ids)

    receiver.secret = secret_text(b"another duty system's key 32 by")  # a receiver with another key refuses
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    report = deliver_due(found)
    assert receiver.refused and report.failed >= 1  # refused (401): kept and retried, not lost
    assert "pending" in statuses(found, "webhook")
    retried = receiver.refused[-1]
    receiver.secret = secret_text(found.config.secrets.webhook.value)
    clock.advance(minutes=1)
    clock.now = max(clock.now, datetime.now(UTC))
    deliver_due(found)
    assert receiver.received[-1].header("webhook-id") == retried.header("webhook-id")  # same message, again
