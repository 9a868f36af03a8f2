"""Overdue alerts are emailed again at the declared interval until acknowledged, with nothing the person wrote."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from casefeedback import create_app
from casefeedback.alerts.delivery import deliver_due
from casefeedback.alerts.escalation import escalate_due
from casefeedback.alerts.inbox import acknowledge
from casefeedback.alerts.jobs import run_reminders
from casefeedback.alerts.reminding import remind_due
from casefeedback.alerts.routing import add_shift
from casefeedback.auth.sessions import StaffMember
from casefeedback.config import Config
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.worker.job import registered
from tests.alerts.conftest import email_of, give_email
from tests.alerts.support import SMTPServer, all_alerts, log_text, told
from tests.casework.support import Person, events, feedback, person
from tests.conftest import POLICIES, Clock, canary
from tests.helpers import ServiceUser


def overdue_mails(smtp: SMTPServer, someone: Person) -> list[str]:
    return [mail.get_payload() for mail in smtp.mailbox.to(email_of(someone)) if mail["Subject"].startswith("Overdue")]


def tick(found: Services) -> None:
    """What the worker does each second: escalate, remind, deliver."""
    escalate_due(found)
    remind_due(found)
    deliver_due(found)


def setup(app: Flask, found: Services) -> tuple[Person, Person]:
    rota_person, manager = person(app, sign_in=False), person(app, "duty_manager", team=None, sign_in=False)
    for someone in (rota_person, manager):
        give_email(found, someone)
    now = found.clock()
    with write(found.engine) as connection:
        add_shift(connection, service_id="victim-support", staff_id=rota_person.id, starts_at=now,
                  ends_at=now + timedelta(hours=8), set_by=None, now=now)
    return rota_person, manager


def test_reminders_repeat_every_interval_until_acknowledged_and_never_carry_an_answer(app, found, clock, smtp):
    rota_person, manager = setup(app, found)
    secret = canary()
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no", "safer": f"my neighbour {secret}"})
    (alert,) = all_alerts(found)
    tick(found)
    clock.advance(minutes=15, seconds=1)  # overdue now: escalation tells the duty manager, no reminder yet
    tick(found)
    assert overdue_mails(smtp, rota_person) == [] and overdue_mails(smtp, manager) == []
    clock.advance(minutes=14)
    tick(found)
    assert overdue_mails(smtp, manager) == []
    clock.advance(minutes=1)  # one interval (15 minutes, the default) after it became overdue
    tick(found)
    tick(found)  # running again in the same round sends nothing more
    for someone in (rota_person, manager):
        (mail,) = overdue_mails(smtp, someone)
        assert alert.reference in mail and "Service: Victim support" in mail and "Overdue by: 15 minutes" in mail
        assert f"https://cf.example.org/alerts/a/{alert.reference}" in mail
    clock.advance(minutes=15)
    tick(found)
    assert len(overdue_mails(smtp, manager)) == len(overdue_mails(smtp, rota_person)) == 2
    assert "Overdue by: 30 minutes" in overdue_mails(smtp, manager)[1]
    assert acknowledge(found, StaffMember(manager.id, manager.username, "M", "duty_manager", None), alert.reference)
    for _round in range(3):
        clock.advance(minutes=15)
        tick(found)
    assert len(overdue_mails(smtp, manager)) == len(overdue_mails(smtp, rota_person)) == 2  # stopped
    reminded = [(e.outcome, json.loads(e.detail)["round"], json.loads(e.detail)["emailed"])
                for e in events(found, "alert.remind")]
    assert reminded == [("reminded", 0, 0), ("reminded", 1, 2), ("reminded", 2, 2)]
    # Only the reference, the service and how long: never a word they wrote, nor which rule fired.
    raw = smtp.mailbox.raw()
    assert secret.encode() not in raw and b"unsafe-now" not in raw and b"not safe" not in raw.lower()
    assert secret not in log_text(found)


def test_a_reminder_acknowledged_before_it_is_sent_is_cancelled(app, found, clock, smtp):
    _rota_person, manager = setup(app, found)
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    (alert,) = all_alerts(found)
    clock.advance(minutes=30, seconds=2)
    tick(found)
    clock.advance(minutes=15)
    escalate_due(found)
    assert remind_due(found) == 1  # queued, not yet sent
    assert acknowledge(found, StaffMember(manager.id, manager.username, "M", "duty_manager", None), alert.reference)
    before = len(overdue_mails(smtp, manager))
    deliver_due(found)
    assert len(overdue_mails(smtp, manager)) == before


def test_the_rota_person_on_duty_when_it_is_overdue_is_told_and_may_open_it(app, found, clock, smtp, team):
    feedback_case = team.case_id
    newcomer = person(app, team="South", sign_in=False)
    give_email(found, newcomer)
    feedback(app, found, feedback_case, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    clock.advance(minutes=15, seconds=1)
    with write(found.engine) as connection:
        add_shift(connection, service_id="victim-support", staff_id=newcomer.id, starts_at=clock.now,
                  ends_at=clock.now + timedelta(hours=8), set_by=None, now=clock.now)
    tick(found)
    assert (newcomer.id, "duty_rota") in [(staff_id, relation) for staff_id, _step, relation in told(found, alert.id)]
    newcomer.auth.sign_in(newcomer.username, newcomer.password)
    assert newcomer.get(f"/alerts/a/{alert.reference}").status_code == 200


@pytest.fixture
def every_five(tmp_path: Path, config: Config, clock: Clock) -> Iterator[Flask]:
    policies = tmp_path / "five-minutes"
    shutil.copytree(POLICIES, policies)
    text = (policies / "organisation.toml").read_text(encoding="utf-8")
    (policies / "organisation.toml").write_text(
        text.replace('remind_overdue_every = "PT15M"', 'remind_overdue_every = "PT5M"'), encoding="utf-8")
    application = create_app(replace(config, policies_dir=policies), clock=clock)
    yield application
    application.extensions["casefeedback"].engine.dispose()


def test_the_interval_is_the_one_the_policy_declares(every_five, clock, smtp):
    found: Services = every_five.extensions["casefeedback"]
    assert found.policies.organisation.alerts.remind_overdue_every == timedelta(minutes=5)
    _rota_person, manager = setup(every_five, found)
    ServiceUser(every_five.test_client()).give_feedback({"safe_now": "no"})
    clock.advance(minutes=15, seconds=1)
    tick(found)
    clock.advance(minutes=5)
    tick(found)
    clock.advance(minutes=5)
    tick(found)
    assert len(overdue_mails(smtp, manager)) == 2


def test_the_reminder_job_is_registered_with_the_worker(app, found, clock, smtp):
    assert "alerts.remind" in {job.id for job in registered()}
    assert run_reminders(found) == "0 reminded"
