"""Escalation through the whole chain on a controllable clock; acknowledgement stops it; routing skips the absent."""

from __future__ import annotations

from sqlalchemy import update

from casefeedback.alerts.delivery import deliver_due
from casefeedback.alerts.escalation import escalate_due
from casefeedback.alerts.inbox import acknowledge
from casefeedback.alerts.routing import add_absence, add_shift
from casefeedback.auth.sessions import StaffMember
from casefeedback.storage.engine import write
from casefeedback.storage.tables import staff
from tests.alerts.conftest import email_of, give_email
from tests.alerts.support import all_alerts, told
from tests.casework.support import events, feedback, person
from tests.helpers import ServiceUser


def member(someone) -> StaffMember:  # type: ignore[no-untyped-def]
    return StaffMember(someone.id, someone.username, someone.username.title(), someone.role, None)


def test_escalation_goes_through_the_whole_chain_until_someone_acknowledges(app, found, team, clock, smtp):
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    deliver_due(found)
    chain = [team.owner, team.deputy, team.supervisor, team.duty]
    for step, someone in enumerate(chain):
        assert len(smtp.mailbox.to(email_of(someone))) == 1, someone.role
        for later in chain[step + 1:]:
            assert smtp.mailbox.to(email_of(later)) == []
        clock.advance(minutes=14)
        assert escalate_due(found) == 0  # not yet: the deadline is 15 minutes
        clock.advance(minutes=1, seconds=1)
        assert escalate_due(found) == 1
        deliver_due(found)
    assert [relation for _id, _step, relation in told(found, alert.id)] == [
        "case_owner", "case_deputy", "team_supervisor", "duty_manager"]
    # Everyone was told exactly once; the chain has run out and the alert is on the dead-letter list.
    assert all(len(smtp.mailbox.to(email_of(someone))) == 1 for someone in chain)
    escalation = smtp.mailbox.to(email_of(team.deputy))[0].get_payload()
    assert "escalated to you" in escalation
    (alert,) = all_alerts(found)
    assert alert.exhausted_at is not None and alert.acknowledged_at is None
    admin = person(app, "administrator", team=None)
    page = admin.get("/alerts/undelivered").get_data(as_text=True)
    assert alert.reference in page
    assert [e.action for e in events(found, "alert.exhausted")] == ["alert.exhausted"]


def test_acknowledging_stops_escalation(app, found, team, clock, smtp):
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    deliver_due(found)
    page = f"/alerts/a/{alert.reference}"
    response = team.owner.form_post(page, f"{page}/acknowledge")
    assert response.status_code == 303
    clock.advance(hours=2)
    assert escalate_due(found) == 0
    deliver_due(found)
    assert smtp.mailbox.to(email_of(team.deputy)) == []
    assert len(events(found, "alert.acknowledge")) == 1


def test_an_alert_acknowledged_while_its_email_is_in_retry_does_not_escalate(app, found, team, clock, smtp):
    smtp.stop()
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    assert deliver_due(found).failed == 1
    assert acknowledge(found, member(team.owner), alert.reference)  # e.g. they saw it in the inbox
    clock.advance(minutes=30)
    assert escalate_due(found) == 0
    smtp.start()
    assert deliver_due(found).sent == 0  # the retry is cancelled: someone is already acting
    assert smtp.mailbox.messages == []
    assert told(found, alert.id) == [(team.owner.id, 0, "case_owner")]


def test_routing_skips_people_who_are_absent_or_disabled(app, found, team, smtp):
    with write(found.engine) as connection:
        add_absence(connection, staff_id=team.owner.id, starts_at=found.clock(), ends_at=None,
                    set_by=team.supervisor.id, now=found.clock())
        connection.execute(update(staff).where(staff.c.id == team.deputy.id).values(enabled=False))
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    assert told(found, alert.id) == [(team.supervisor.id, 2, "team_supervisor")]
    deliver_due(found)
    assert smtp.mailbox.to(email_of(team.owner)) == [] and smtp.mailbox.to(email_of(team.deputy)) == []
    assert len(smtp.mailbox.to(email_of(team.supervisor))) == 1
    skipped = [e for e in events(found, "alert.skip")]
    assert len(skipped) == 2


def test_anonymous_feedback_goes_to_the_available_people_on_the_duty_rota(app, found, smtp):
    away, on_duty, manager = person(app), person(app), person(app, "duty_manager", team=None)
    for someone in (away, on_duty, manager):
        give_email(found, someone)
    now = found.clock()
    with write(found.engine) as connection:
        for someone in (away, on_duty):
            add_shift(connection, service_id="victim-support", staff_id=someone.id, starts_at=now, ends_at=None,
                      set_by=None, now=now)
        add_absence(connection, staff_id=away.id, starts_at=now, ends_at=None, set_by=None, now=now)
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    (alert,) = all_alerts(found)
    assert alert.case_id is None
    assert told(found, alert.id) == [(on_duty.id, 0, "duty_rota")]
    deliver_due(found)
    assert len(smtp.mailbox.to(email_of(on_duty))) == 1 and smtp.mailbox.to(email_of(away)) == []


def test_anonymous_feedback_without_a_rota_goes_to_the_duty_managers(app, found, smtp):
    manager = person(app, "duty_manager", team=None)
    give_email(found, manager)
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    (alert,) = all_alerts(found)
    assert told(found, alert.id) == [(manager.id, 1, "duty_manager")]
    deliver_due(found)
    (mail,) = smtp.mailbox.to(email_of(manager))
    assert "An alert needs you" in mail.get_payload()  # the first person told: not an "escalation"


def test_an_alert_with_nobody_to_tell_is_on_the_dead_letter_list_not_dropped(app, found):
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    (alert,) = all_alerts(found)
    assert alert.exhausted_at is not None
    manager = person(app, "duty_manager", team=None)
    assert alert.reference in manager.get("/alerts/undelivered").get_data(as_text=True)
