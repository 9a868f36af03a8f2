"""From an answer to a named person's inbox, email and the duty system's webhook — with no content in any of them."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from casefeedback.alerts.delivery import deliver_due
from casefeedback.storage.engine import read
from casefeedback.storage.tables import alert_notifications, alerts, submissions
from tests.alerts.conftest import email_of
from tests.alerts.support import all_alerts, log_text, signed_by, told
from tests.casework.support import feedback
from tests.conftest import canary


def test_an_urgent_answer_reaches_the_case_owner_by_email_and_webhook_without_content(app, found, team, smtp,
                                                                                        receiver):
    secret = canary()
    feedback(app, found, team.case_id, team.owner.id,
             {"safe_now": "no", "safer": f"he said {secret} unsafe", "anything_else": f"{secret} he will kill me"})
    raised = all_alerts(found)
    # Three rules met: the choice, and harm words in each of the two text answers.
    assert sorted(a.rule_id for a in raised) == ["harm-words-narrative", "harm-words-safety", "unsafe-now"]
    for alert in raised:
        assert alert.case_id == team.case_id and alert.severity == "urgent"
        assert told(found, alert.id) == [(team.owner.id, 0, "case_owner")]

    report = deliver_due(found)

    assert (report.sent, report.dead, report.failed) == (6, 0, 0)  # an email and a webhook per alert
    mails = {mail["Subject"].split()[-1]: mail.get_payload() for mail in smtp.mailbox.to(email_of(team.owner))}
    assert set(mails) == {a.reference for a in raised}
    for alert in raised:
        text = mails[alert.reference]
        assert "urgent" in text and "victim-support" in text
        assert f"https://cf.example.org/alerts/a/{alert.reference}" in text
    assert {json.loads(r.body)["reference"] for r in receiver.received} == {a.reference for a in raised}
    for hook in receiver.received:
        assert signed_by(found.config.secrets.webhook.value, hook)
        assert hook.header("webhook-timestamp") == str(int(found.clock().timestamp()))
        assert set(json.loads(hook.body)) == {"event", "reference", "severity", "service", "deadline", "link"}
    # The canary (what the person wrote) is in no email, no webhook, no log.
    assert secret.encode() not in smtp.mailbox.raw()
    assert all(secret.encode() not in hook.body for hook in receiver.received)
    assert secret not in log_text(found)
    # Which rule fired says something about what was written: it stays out of notifications too.
    assert b"unsafe-now" not in smtp.mailbox.raw() and all(b"unsafe-now" not in h.body for h in receiver.received)


def test_delivered_once_running_the_job_again_sends_nothing_more(app, found, team, smtp):
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    deliver_due(found)
    deliver_due(found)
    assert len(smtp.mailbox.to(email_of(team.owner))) == len(all_alerts(found)) == 1


def test_an_answer_that_meets_no_rule_raises_nothing(app, found, team, smtp):
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "yes", "treated": "5"})
    assert all_alerts(found) == []
    assert deliver_due(found).sent == 0 and smtp.mailbox.messages == []


def test_the_alert_is_raised_in_the_same_transaction_as_the_submission(app, found, team, monkeypatch):
    """If raising the alert fails, the submission is not stored either: never one without the other."""
    import casefeedback.intake.submissions as intake

    def broken(*args, **kwargs):
        raise RuntimeError("the outbox is broken")

    monkeypatch.setattr(intake, "raise_alerts", broken)
    with pytest.raises(AssertionError, match="no receipt code"):  # the error page, not a receipt
        feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    with read(found.engine) as connection:
        assert connection.execute(select(func.count()).select_from(submissions)).scalar() == 0
        assert connection.execute(select(func.count()).select_from(alerts)).scalar() == 0
        assert connection.execute(select(func.count()).select_from(alert_notifications)).scalar() == 0
