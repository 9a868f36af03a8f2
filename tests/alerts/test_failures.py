"""A mail server that is down, refuses, stalls or hangs up: retried, recorded without content, escalated, never lost."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from casefeedback.alerts import delivery
from casefeedback.alerts.channels import Notice, send_email
from casefeedback.alerts.delivery import LEASE, backoff, deliver_due
from casefeedback.storage.engine import read
from casefeedback.storage.tables import alert_attempts, alert_notifications
from tests.alerts.conftest import email_of
from tests.alerts.support import all_alerts, log_text, told
from tests.casework.support import feedback, person
from tests.conftest import canary


def attempts(found) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    with read(found.engine) as connection:
        return [(r.outcome, r.error) for r in connection.execute(
            select(alert_attempts)
            .join(alert_notifications, alert_notifications.c.id == alert_attempts.c.notification_id)
            .where(alert_notifications.c.channel == "email").order_by(alert_attempts.c.at)).all()]


def retry_until_sent(found, clock, rounds: int = 6) -> None:  # type: ignore[no-untyped-def]
    for _ in range(rounds):
        clock.advance(minutes=30)  # past any backoff
        if deliver_due(found).sent:
            return


def test_smtp_down_for_a_while_then_up_nothing_is_lost(app, found, team, clock, smtp):
    smtp.stop()
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    for _ in range(3):
        assert deliver_due(found).failed >= 1
        clock.advance(seconds=1)
        assert deliver_due(found).failed == 0  # too early for the backoff (at least 5 s): nothing is tried
        clock.advance(minutes=30)
    smtp.start()
    assert deliver_due(found).sent >= 1
    assert len(smtp.mailbox.to(email_of(team.owner))) == 1
    outcomes = attempts(found)
    assert outcomes[-1] == ("sent", None) and all(o == "failed" for o, _e in outcomes[:-1]) and len(outcomes) == 4
    assert all(error and error.startswith("connection failed") for _o, error in outcomes[:-1])


def test_a_refused_recipient_is_retried_then_dead_lettered_and_escalated_at_once(app, found, team, clock, smtp,
                                                                                 caplog):
    secret = canary()
    smtp.mailbox.reject = {email_of(team.owner)}
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no", "safer": f"{secret} unsafe"})
    unsafe = next(a for a in all_alerts(found) if a.rule_id == "unsafe-now")
    for _ in range(unsafe.max_attempts):
        # Only delivery runs (no escalation job), so only the dead letter can move the alert on.
        deliver_due(found)
        clock.advance(minutes=10)  # past the longest backoff before the limit (320 s + jitter)
    deliver_due(found)  # what the dead letter's escalation queued
    assert [r for _id, _s, r in told(found, unsafe.id)][:2] == ["case_owner", "case_deputy"]
    assert len(smtp.mailbox.to(email_of(team.deputy))) >= 1
    assert smtp.mailbox.to(email_of(team.owner)) == []
    refused = [e for o, e in attempts(found) if o == "failed"]
    assert refused and set(refused) == {"recipient refused"}
    assert "recipient refused" in caplog.text and secret not in caplog.text and secret not in log_text(found)
    duty = person(app, "duty_manager", team=None)
    page = duty.get("/alerts/undelivered").get_data(as_text=True)
    assert unsafe.reference in page and "recipient refused" in page and secret not in page


def test_a_server_that_stalls_is_a_timeout_and_is_retried(app, found, team, clock, smtp):
    smtp.mailbox.stall = 2.5  # the app waits 1 s
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    assert deliver_due(found).failed == 1
    smtp.mailbox.stall = 0
    retry_until_sent(found, clock)
    assert attempts(found)[0] == ("failed", "timed out") and attempts(found)[-1] == ("sent", None)
    assert len(smtp.mailbox.to(email_of(team.owner))) >= 1


def test_a_connection_dropped_mid_message_is_retried(app, found, team, clock, smtp):
    smtp.mailbox.drop = True
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    assert deliver_due(found).failed == 1
    smtp.mailbox.drop = False
    retry_until_sent(found, clock)
    assert attempts(found)[0] == ("failed", "connection dropped") and attempts(found)[-1] == ("sent", None)
    assert len(smtp.mailbox.to(email_of(team.owner))) == 1


def test_a_crash_between_sending_and_recording_sends_at_most_one_duplicate(app, found, team, clock, smtp):
    """The documented bound: one extra email per crash inside the send window, and never none."""
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    assert delivery._claim(found)  # the worker claims the email (committed) ...
    notice = Notice(alert.reference, alert.severity, alert.service_id, alert.deadline_at, "https://x", "alert")
    send_email(found.config, email_of(team.owner), notice)  # ... the server accepts it ... and the worker dies.
    assert deliver_due(found).sent == 0  # a live claim is left alone
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert deliver_due(found).sent >= 1  # the restarted worker takes over the stale claim
    assert len(smtp.mailbox.to(email_of(team.owner))) == 2
    clock.advance(hours=1)
    deliver_due(found)
    assert len(smtp.mailbox.to(email_of(team.owner))) == 2  # and never again


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    for attempt, base in ((1, 5), (2, 10), (3, 20), (4, 40)):
        delays = {backoff(attempt) for _ in range(20)}
        assert all(timedelta(seconds=base) <= d <= timedelta(seconds=base * 1.5) for d in delays)
        assert len(delays) > 1  # jittered
    assert backoff(30) <= timedelta(minutes=22, seconds=30)
