"""Supervisors set the duty rota and mark people absent, through the forms; both change routing and are audited."""

from __future__ import annotations

from tests.alerts.support import all_alerts, told
from tests.casework.support import events, person
from tests.conftest import csrf_token
from tests.helpers import ServiceUser


def test_a_supervisor_sets_the_rota_and_anonymous_alerts_follow_it(app, found):
    supervisor, first, second = person(app, "supervisor"), person(app), person(app)
    html = supervisor.get("/alerts/rota").get_data(as_text=True)
    token = csrf_token(html)
    saved = supervisor.client.post("/alerts/rota", data={
        "csrf_token": token, "service": "victim-support", "people": f"{first.username}\n{second.username}"})
    assert saved.status_code == 303
    away = supervisor.client.post("/alerts/rota/absence", data={
        "absence-csrf_token": token, "absence-username": first.username, "absence-absent": "absent"})
    assert away.status_code == 303
    page = supervisor.get("/alerts/rota").get_data(as_text=True)
    assert first.username in page and "skipped: absent or disabled" in page
    ServiceUser(app.test_client()).give_feedback({"safe_now": "no"})
    (alert,) = all_alerts(found)
    assert told(found, alert.id) == [(second.id, 0, "duty_rota")]
    assert len(events(found, "alert.rota_set")) == 1 and len(events(found, "staff.absence")) == 1


def test_bad_rota_input_is_a_clear_400_and_changes_nothing(app, found):
    supervisor = person(app, "supervisor")
    token = csrf_token(supervisor.get("/alerts/rota").get_data(as_text=True))
    unknown = supervisor.client.post("/alerts/rota", data={
        "csrf_token": token, "service": "victim-support", "people": "nobody-here"})
    assert unknown.status_code == 400 and "There is no caseworker" in unknown.get_data(as_text=True)
    wrong_service = supervisor.client.post("/alerts/rota", data={
        "csrf_token": token, "service": "nope", "people": ""})
    assert wrong_service.status_code == 400
    nobody = supervisor.client.post("/alerts/rota/absence", data={
        "absence-csrf_token": token, "absence-username": "ghost", "absence-absent": "absent"})
    assert nobody.status_code == 400
    assert events(found, "alert.rota_set") == []


def test_caseworkers_cannot_change_the_rota(app):
    caseworker = person(app)
    assert caseworker.get("/alerts/rota").status_code == 403
