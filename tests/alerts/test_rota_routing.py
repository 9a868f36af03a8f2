"""Dated shifts and absences decide who is told, at the moment of telling, on a controllable clock."""

from __future__ import annotations

from datetime import timedelta

from casefeedback.alerts import rota
from casefeedback.alerts.escalation import escalate_due
from casefeedback.alerts.routing import add_absence, add_shift
from casefeedback.storage.engine import write
from tests.alerts.support import all_alerts, told
from tests.casework.support import feedback, person
from tests.helpers import ServiceUser

SERVICE = "victim-support"


def shift(found, someone, start, end):  # type: ignore[no-untyped-def]
    with write(found.engine) as connection:
        add_shift(connection, service_id=SERVICE, staff_id=someone.id, starts_at=start, ends_at=end, set_by=None,
                  now=found.clock())


def away(found, someone, start, end):  # type: ignore[no-untyped-def]
    with write(found.engine) as connection:
        add_absence(connection, staff_id=someone.id, starts_at=start, ends_at=end, set_by=None, now=found.clock())


def names(shifts) -> list[str]:  # type: ignore[no-untyped-def]
    return [s.username for s in shifts]


def test_the_rota_in_force_now_and_next_follows_the_clock(app, found, clock):
    early, late, later = person(app, sign_in=False), person(app, sign_in=False), person(app, sign_in=False)
    start = clock.now
    shift(found, early, start - timedelta(hours=1), start + timedelta(minutes=30))
    shift(found, late, start + timedelta(minutes=30), start + timedelta(hours=8))
    shift(found, later, start + timedelta(hours=8), None)
    (board,) = rota.board(found).services
    assert names(board.now) == [early.username] and names(board.next) == [late.username, later.username]
    clock.advance(minutes=30)
    (board,) = rota.board(found).services
    assert names(board.now) == [late.username] and names(board.next) == [later.username]
    clock.advance(hours=9)
    (board,) = rota.board(found).services
    assert names(board.now) == [later.username] and board.next == [] and board.now[0].ends_at is None


def test_an_anonymous_alert_goes_to_whoever_is_on_duty_when_it_is_raised(app, found, clock):
    day, night = person(app, sign_in=False), person(app, sign_in=False)
    start = clock.now
    shift(found, day, start - timedelta(hours=1), start + timedelta(hours=1))
    shift(found, night, start + timedelta(hours=1), start + timedelta(hours=12))
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    clock.advance(hours=2)  # the day shift has ended
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    first, second = all_alerts(found)
    assert told(found, first.id) == [(day.id, 0, "duty_rota")]
    assert told(found, second.id) == [(night.id, 0, "duty_rota")]


def test_an_absent_person_is_skipped_only_while_they_are_away(app, found, clock):
    on_duty, manager = person(app, sign_in=False), person(app, "duty_manager", team=None, sign_in=False)
    start = clock.now
    shift(found, on_duty, start, None)
    away(found, on_duty, start + timedelta(hours=1), start + timedelta(hours=3))
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})  # before the absence
    clock.advance(hours=2)  # during it
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    clock.advance(hours=2)  # after it
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    before, during, after = all_alerts(found)
    assert told(found, before.id) == [(on_duty.id, 0, "duty_rota")]
    assert told(found, during.id) == [(manager.id, 1, "duty_manager")]
    assert told(found, after.id) == [(on_duty.id, 0, "duty_rota")]


def test_absence_counts_for_every_relation_not_only_the_rota(app, found, team, clock):
    away(found, team.owner, clock.now + timedelta(hours=1), clock.now + timedelta(days=1))
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})  # not away yet
    (first,) = all_alerts(found)
    assert told(found, first.id) == [(team.owner.id, 0, "case_owner")]
    clock.advance(hours=2)
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    second = all_alerts(found)[1]
    assert told(found, second.id) == [(team.deputy.id, 1, "case_deputy")]


def test_the_duty_manager_on_duty_is_told_before_the_others(app, found, team, clock):
    other = person(app, "duty_manager", team=None, sign_in=False)
    start = clock.now
    shift(found, other, start, start + timedelta(hours=8))
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    for _step in range(3):  # owner, deputy, supervisor: nobody acknowledges
        clock.advance(minutes=15, seconds=1)
        escalate_due(found)
    assert told(found, alert.id)[-1] == (other.id, 3, "duty_manager")
    assert team.duty.id not in [staff_id for staff_id, _s, _r in told(found, alert.id)]


def test_with_the_duty_manager_on_duty_away_every_duty_manager_is_told(app, found, team, clock):
    other = person(app, "duty_manager", team=None, sign_in=False)
    start = clock.now
    shift(found, other, start, start + timedelta(hours=8))
    away(found, other, start, None)
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    for _step in range(3):
        clock.advance(minutes=15, seconds=1)
        escalate_due(found)
    assert told(found, alert.id)[-1] == (team.duty.id, 3, "duty_manager")
