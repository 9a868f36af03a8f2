"""Overdue alerts at the top of every staff page: for duty managers and the rota on duty, for nobody else."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import event, text

from casefeedback.alerts.escalation import escalate_due
from casefeedback.alerts.overdue import in_words, overdue_for
from casefeedback.alerts.routing import add_absence, add_shift
from casefeedback.auth.sessions import StaffMember
from casefeedback.storage.engine import read, write
from tests.alerts.support import all_alerts
from tests.casework.support import Person, person
from tests.helpers import ServiceUser

BANNER = re.compile(r'<div class="overdue-banner".*?</ul>', re.S)


def banner(someone: Person) -> str:
    """The overdue banner on the person's account page (not an alert page), or "" if there is none."""
    response = someone.get("/staff/account")
    assert response.status_code == 200
    match = BANNER.search(response.get_data(as_text=True))
    return match.group(0) if match else ""


def sign_in(*people: Person) -> None:
    for someone in people:
        assert someone.auth.sign_in(someone.username, someone.password).status_code == 302


def on_duty(found, someone, hours: float = 8) -> None:  # type: ignore[no-untyped-def]
    now = found.clock()
    with write(found.engine) as connection:
        add_shift(connection, service_id="victim-support", staff_id=someone.id, starts_at=now,
                  ends_at=now + timedelta(hours=hours), set_by=None, now=now)


def member(someone: Person) -> StaffMember:
    return StaffMember(someone.id, someone.username, someone.username.title(), someone.role, None)


def test_the_banner_shows_an_overdue_alert_to_the_duty_managers_and_the_rota_only(app, found, clock):
    rota_person, manager = person(app, sign_in=False), person(app, "duty_manager", team=None, sign_in=False)
    caseworker, supervisor = person(app, sign_in=False), person(app, "supervisor", sign_in=False)
    on_duty(found, rota_person)
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    (alert,) = all_alerts(found)
    sign_in(rota_person, manager, caseworker, supervisor)
    assert banner(rota_person) == "" and banner(manager) == ""  # not overdue yet: 15 minutes to acknowledge
    clock.advance(minutes=17)
    sign_in(rota_person, manager, caseworker, supervisor)  # a fresh session after the idle timeout
    for someone in (rota_person, manager):
        shown = banner(someone)
        assert "Overdue alerts" in shown and f'href="/alerts/a/{alert.reference}"' in shown, someone.role
        assert "Victim support: overdue by 2 minutes" in shown
    assert banner(caseworker) == "" and banner(supervisor) == ""
    # The rota person can open the alert the banner links to.
    assert rota_person.get(f"/alerts/a/{alert.reference}").status_code == 200


def test_the_banner_goes_as_soon_as_someone_acknowledges(app, found, clock):
    rota_person, manager = person(app, sign_in=False), person(app, "duty_manager", team=None, sign_in=False)
    on_duty(found, rota_person)
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    (alert,) = all_alerts(found)
    clock.advance(hours=1, minutes=5)
    sign_in(rota_person, manager)
    assert "overdue by 50 minutes" in banner(manager)
    page = f"/alerts/a/{alert.reference}"
    assert manager.form_post(page, f"{page}/acknowledge").status_code == 303
    assert banner(manager) == "" and banner(rota_person) == ""


def test_a_stranded_alert_is_overdue_at_once_and_says_nobody_is_left(app, found):
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})  # nobody on the rota, no duty manager yet
    (alert,) = all_alerts(found)
    assert alert.exhausted_at is not None
    manager = person(app, "duty_manager", team=None)
    shown = banner(manager)
    assert alert.reference in shown and "(nobody left to tell)" in shown and "less than a minute" in shown


def test_off_duty_or_away_the_rota_person_is_not_shown_it(app, found, clock):
    short, away = person(app, sign_in=False), person(app, sign_in=False)
    on_duty(found, short, hours=0.25)
    on_duty(found, away)
    with write(found.engine) as connection:
        add_absence(connection, staff_id=away.id, starts_at=clock.now + timedelta(minutes=10), ends_at=None,
                    set_by=None, now=clock.now)
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    clock.advance(minutes=20)
    sign_in(short, away)
    assert banner(short) == "" and banner(away) == ""


def test_escalation_does_not_hide_an_overdue_alert(app, found, clock):
    rota_person, manager = person(app, sign_in=False), person(app, "duty_manager", team=None, sign_in=False)
    on_duty(found, rota_person)
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    clock.advance(minutes=15, seconds=1)
    assert escalate_due(found) == 1  # the duty manager is told, with a fresh deadline: still overdue
    sign_in(manager)
    assert "Overdue alerts" in banner(manager)


def test_one_indexed_query_and_none_for_roles_never_on_duty(app, found, clock):
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    manager, caseworker = person(app, "duty_manager", team=None), person(app)
    administrator = person(app, "administrator", team=None)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(found.engine, "before_cursor_execute", count)
    try:
        assert len(overdue_for(found, member(manager))) == 1
        assert len(statements) == 1
        statements.clear()
        assert overdue_for(found, member(caseworker)) == []
        assert len(statements) == 1
        statements.clear()
        assert overdue_for(found, member(administrator)) == []
        assert statements == []
    finally:
        event.remove(found.engine, "before_cursor_execute", count)
    postgres = found.engine.dialect.name == "postgresql"
    with read(found.engine) as connection:
        if postgres:  # a handful of rows: make the planner show whether the index can serve the query at all
            connection.execute(text("SET LOCAL enable_seqscan = off"))
        query = ("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + (  # noqa: S608 - constant text
            "SELECT reference FROM alerts WHERE acknowledged_at IS NULL "
            "AND (due_at <= :now OR exhausted_at IS NOT NULL)")
        plan = " ".join(str(row) for row in connection.execute(text(query),
                                                                {"now": clock.now.replace(tzinfo=None)}).all())
    assert "ix_alerts_overdue" in plan


def test_how_long_in_words():
    assert in_words(timedelta(seconds=59)) == "less than a minute"
    assert in_words(timedelta(minutes=1)) == "1 minute"
    assert in_words(timedelta(minutes=12, seconds=30)) == "12 minutes"
    assert in_words(timedelta(hours=1)) == "1 hour"
    assert in_words(timedelta(hours=2, minutes=5)) == "2 hours 5 minutes"
    assert in_words(timedelta(days=3, hours=1, minutes=7)) == "3 days 1 hour"
