"""Supervisors and duty managers set the dated rota and absences through the forms; routing follows; all audited."""

from __future__ import annotations

import re

from tests.alerts.support import all_alerts, told
from tests.casework.support import Person, events, person
from tests.conftest import csrf_token
from tests.helpers import ServiceUser

# The test clock starts at 09:30 UTC on 2 November 2026: 09:30 in London (GMT, no summer time).


def add_shift(someone: Person, **fields: str):  # type: ignore[no-untyped-def]
    page = someone.get("/alerts/rota").get_data(as_text=True)
    return someone.client.post("/alerts/rota", data={"csrf_token": csrf_token(page), "service": "victim-support",
                                                     **fields})


def add_absence(someone: Person, **fields: str):  # type: ignore[no-untyped-def]
    page = someone.get("/alerts/rota").get_data(as_text=True)
    return someone.client.post("/alerts/rota/absence", data={"absence-csrf_token": csrf_token(page),
                                                             **{f"absence-{k}": v for k, v in fields.items()}})


def section(page: str, heading: str) -> str:
    """The HTML from an <h3> heading to the next heading."""
    start = page.index(f"<h3>{heading}</h3>")
    return page[start:page.index("<h", start + 4)]


def test_a_supervisor_puts_someone_on_duty_and_anonymous_alerts_reach_them(app, found):
    supervisor, on_duty, later = person(app, "supervisor"), person(app), person(app)
    page = supervisor.get("/alerts/rota").get_data(as_text=True)
    # The person is chosen from a list of the people who may be on the rota, not typed.
    assert re.search(r'<select[^>]*name="person"', page) and f'value="{on_duty.id}"' in page
    assert "people" not in re.findall(r'name="([^"]+)"', page)  # the free-text box is gone
    assert add_shift(supervisor, person=on_duty.id, starts="2026-11-02T09:30",
                     ends="2026-11-02T17:00").status_code == 303
    assert add_shift(supervisor, person=later.id, starts="2026-11-02T17:00",
                     ends="2026-11-03T09:00").status_code == 303
    page = supervisor.get("/alerts/rota").get_data(as_text=True)
    now, upcoming = section(page, "On duty now"), section(page, "Next")
    assert on_duty.username in now and later.username not in now
    assert later.username in upcoming and "2 Nov 2026, 17:00" in upcoming and "3 Nov 2026, 09:00" in upcoming
    assert "2 Nov 2026, 09:30" in now and "Absent" not in now
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    (alert,) = all_alerts(found)
    assert told(found, alert.id) == [(on_duty.id, 0, "duty_rota")]
    added = events(found, "alert.rota_set")
    assert [e.outcome for e in added] == ["shift_added", "shift_added"] and added[0].actor_id == supervisor.id
    assert on_duty.id in added[0].detail and "2026-11-02T09:30:00+00:00" in added[0].detail


def test_times_are_typed_and_shown_in_the_organisation_time_zone(app, found, clock):
    clock.now = clock.now.replace(month=7, day=1)  # 09:30 UTC is 10:30 in London in July (BST)
    duty = person(app, "duty_manager", team=None)
    assert add_shift(duty, person=duty.id, starts="2026-07-01T10:30", ends="2026-07-01T18:00").status_code == 303
    (event,) = events(found, "alert.rota_set")
    assert "2026-07-01T09:30:00+00:00" in event.detail and "2026-07-01T17:00:00+00:00" in event.detail
    now = section(duty.get("/alerts/rota").get_data(as_text=True), "On duty now")
    assert "1 Jul 2026, 10:30" in now and "1 Jul 2026, 18:00" in now


def test_a_shift_is_removed_and_routing_forgets_it(app, found):
    supervisor, on_duty, manager = person(app, "supervisor"), person(app), person(app, "duty_manager", team=None)
    add_shift(supervisor, person=on_duty.id, starts="2026-11-02T09:30", ends="2026-11-02T17:00")
    page = supervisor.get("/alerts/rota").get_data(as_text=True)
    (remove,) = re.findall(r'action="(/alerts/rota/shift/[^"]+/remove)"', page)
    assert supervisor.client.post(remove, data={"csrf_token": csrf_token(page)}).status_code == 303
    assert on_duty.username not in section(supervisor.get("/alerts/rota").get_data(as_text=True), "On duty now")
    assert [e.outcome for e in events(found, "alert.rota_set")] == ["shift_added", "shift_removed"]
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    (alert,) = all_alerts(found)
    assert told(found, alert.id) == [(manager.id, 1, "duty_manager")]
    # Gone already: a kind 400, not a 500.
    again = supervisor.client.post(remove, data={"csrf_token": csrf_token(page)})
    assert again.status_code == 400 and "no longer on the rota" in again.get_data(as_text=True)


def test_an_absence_with_dates_is_recorded_marked_on_the_rota_and_removed(app, found):
    supervisor, on_duty, manager = person(app, "supervisor"), person(app), person(app, "duty_manager", team=None)
    add_shift(supervisor, person=on_duty.id, starts="2026-11-02T09:30", ends="2026-11-02T17:00")
    assert add_absence(supervisor, person=on_duty.id, starts="2026-11-02T09:00",
                       ends="2026-11-02T12:00").status_code == 303
    page = supervisor.get("/alerts/rota").get_data(as_text=True)
    assert "Absent" in section(page, "On duty now") and "Absent now" in page and "2 Nov 2026, 12:00" in page
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    (alert,) = all_alerts(found)
    assert told(found, alert.id) == [(manager.id, 1, "duty_manager")]  # away: skipped
    (remove,) = re.findall(r'action="(/alerts/rota/absence/[^"]+/remove)"', page)
    assert supervisor.client.post(remove, data={"csrf_token": csrf_token(page)}).status_code == 303
    assert "Nobody is recorded as absent" in supervisor.get("/alerts/rota").get_data(as_text=True)
    assert [(e.outcome, e.object_id) for e in events(found, "staff.absence")] == [
        ("absent", on_duty.id), ("back", on_duty.id)]


def test_bad_shifts_are_a_400_with_an_error_summary_keeping_what_was_typed(app, found):
    supervisor, on_duty = person(app, "supervisor"), person(app)
    cases = [
        ({"person": on_duty.id, "starts": "2026-11-02T12:00", "ends": "2026-11-02T11:00"},
         "The end must be after the start."),
        ({"person": on_duty.id, "starts": "2026-11-02T09:00", "ends": "2026-11-02T17:00"},
         "The start must be now or later, not in the past."),
        ({"person": on_duty.id, "starts": "tomorrow", "ends": "2026-11-02T17:00"},
         "Enter when it starts as a date and a time, like 2026-12-01 08:00."),
        ({"person": "", "starts": "2026-11-02T10:00", "ends": "2026-11-02T17:00"}, "Choose who is on duty."),
        ({"person": "nobody", "starts": "2026-11-02T10:00", "ends": "2026-11-02T17:00"},
         "Choose a caseworker, supervisor or duty manager from the list."),
        ({"person": on_duty.id, "starts": "2026-11-02T10:00", "ends": "2027-12-02T17:00"},
         "The end must be within a year of the start."),
        ({"person": on_duty.id, "starts": "2026-11-02T10:00", "ends": ""}, "Enter when the shift ends."),
    ]
    for fields, message in cases:
        response = add_shift(supervisor, **fields)
        html = response.get_data(as_text=True)
        assert response.status_code == 400, fields
        assert 'class="error-summary"' in html and "There is a problem" in html and message in html, fields
        assert "<title>Error: " in html and '<span class="visually-hidden">Error:</span>' in html
        typed = fields["starts"]
        assert f'value="{typed}"' in html, fields
    # A minute's grace for a slow form, no more.
    assert add_shift(supervisor, person=on_duty.id, starts="2026-11-02T09:29",
                     ends="2026-11-02T17:00").status_code == 303
    assert [e.outcome for e in events(found, "alert.rota_set")] == ["shift_added"]


def test_bad_absences_are_a_400_and_change_nothing(app, found):
    supervisor, away = person(app, "supervisor"), person(app)
    wrong = add_absence(supervisor, person=away.id, starts="2026-11-03T09:00", ends="2026-11-02T09:00")
    assert wrong.status_code == 400 and "The end must be after the start." in wrong.get_data(as_text=True)
    nobody = add_absence(supervisor, person="ghost", starts="2026-11-03T09:00", ends="")
    assert nobody.status_code == 400 and "Choose a caseworker" in nobody.get_data(as_text=True)
    past = add_absence(supervisor, person=away.id, starts="2026-10-01T09:00", ends="2026-10-02T09:00")
    assert past.status_code == 400 and "The end must be now or later" in past.get_data(as_text=True)
    assert events(found, "staff.absence") == []
    # Open-ended, and started yesterday: both allowed.
    assert add_absence(supervisor, person=away.id, starts="2026-11-01T09:00", ends="").status_code == 303


def test_caseworkers_cannot_see_or_change_the_rota(app, found):
    caseworker, supervisor = person(app), person(app, "supervisor")
    assert caseworker.get("/alerts/rota").status_code == 403
    token = csrf_token(caseworker.get("/staff/account").get_data(as_text=True))
    refused = caseworker.client.post("/alerts/rota", data={
        "csrf_token": token, "service": "victim-support", "person": caseworker.id,
        "starts": "2026-11-02T10:00", "ends": "2026-11-02T17:00"})
    assert refused.status_code == 403
    assert caseworker.client.post("/alerts/rota/absence", data={"csrf_token": token}).status_code == 403
    assert supervisor.get("/alerts/rota").status_code == 200
    assert events(found, "alert.rota_set") == []
