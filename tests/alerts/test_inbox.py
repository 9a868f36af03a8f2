"""The inbox: a count on every staff page, acknowledge, resolve with a sealed outcome, visible on the case."""

from __future__ import annotations

from sqlalchemy import select

from casefeedback.alerts.escalation import escalate_due
from casefeedback.storage.engine import read
from casefeedback.storage.tables import alerts
from tests.alerts.support import all_alerts, told
from tests.casework.support import events, feedback, person
from tests.conftest import canary, csrf_token
from tests.receipts.receipt_holder import ReceiptHolder, give
from tests.stores import stored_bytes


def test_the_open_alert_count_is_on_every_staff_page_and_the_alert_on_the_case(app, found, team):
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    for path in ("/casework/", "/casework/notifications", "/staff/account", f"/casework/cases/{team.case_id}"):
        page = team.owner.get(path).get_data(as_text=True)
        assert 'data-open-alerts="1"' in page, path
    case_page = team.owner.get(f"/casework/cases/{team.case_id}").get_data(as_text=True)
    assert alert.reference in case_page
    inbox = team.owner.get("/alerts/").get_data(as_text=True)
    assert alert.reference in inbox and 'data-state="open"' in inbox
    team.owner.form_post(f"/alerts/a/{alert.reference}", f"/alerts/a/{alert.reference}/acknowledge")
    assert 'data-open-alerts="0"' in team.owner.get("/casework/").get_data(as_text=True)
    assert "Acknowledged by" in team.owner.get(f"/casework/cases/{team.case_id}").get_data(as_text=True)


def test_resolving_needs_an_outcome_which_is_sealed_and_opened_only_with_an_audit_event(app, found, team):
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    page = f"/alerts/a/{alert.reference}"
    empty = team.owner.form_post(page, f"{page}/resolve", {"outcome": "   "})
    assert empty.status_code == 400 and "Write what you did" in empty.get_data(as_text=True)
    assert all_alerts(found)[0].resolved_at is None
    secret = canary()
    assert team.owner.form_post(page, f"{page}/resolve", {"outcome": f"Called her. {secret}"}).status_code == 303
    with read(found.engine) as connection:
        row = connection.execute(select(alerts)).one()
    assert row.resolved_at is not None and row.acknowledged_by == team.owner.id
    assert secret.encode() not in row.ciphertext
    assert secret.encode() not in stored_bytes(found.engine, found.config.database_path)
    shown = team.owner.get(page).get_data(as_text=True)
    assert secret in shown
    opened = [e for e in events(found, "field.open") if e.object_type == "alert"]
    assert len(opened) == 1 and opened[0].actor_id == team.owner.id and opened[0].field_class == "case_outcome"
    assert len(events(found, "alert.resolve")) == 1
    again = team.owner.form_post(page, f"{page}/resolve", {"outcome": "twice"})
    assert again.status_code == 400


def test_someone_with_no_part_in_the_alert_gets_not_found(app, found, team):
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    stranger = person(app, team="South")
    assert stranger.get(f"/alerts/a/{alert.reference}").status_code == 404
    assert stranger.get("/alerts/a/A-NOSUCH00").status_code == 404
    html = team.owner.get(f"/alerts/a/{alert.reference}").get_data(as_text=True)
    forged = stranger.client.post(f"/alerts/a/{alert.reference}/acknowledge", data={"csrf_token": csrf_token(html)})
    assert forged.status_code in (400, 404)
    assert all_alerts(found)[0].acknowledged_at is None


def test_the_dead_letter_list_is_for_administrators_and_duty_managers_only(app, found):
    assert person(app, "administrator", team=None).get("/alerts/undelivered").status_code == 200
    assert person(app, "duty_manager", team=None).get("/alerts/undelivered").status_code == 200
    assert person(app).get("/alerts/undelivered").status_code == 403
    assert person(app, "administrator", team=None).get("/alerts/").status_code == 403


def test_adding_more_to_a_receipt_raises_alerts_too(app, client, found, team):
    from tests.receipts.receipt_holder import invited_case

    case_id, token = invited_case(found, team.owner.id, reference="R-9")
    client.get(f"/feedback/i/{token}")
    code, _root = give(client, {"treated": "5"})
    assert all_alerts(found) == []
    holder = ReceiptHolder(client)
    holder.check(code)
    assert holder.add({"anything_else": "I do not feel safe at home"}).status_code == 200
    (alert,) = all_alerts(found)
    assert alert.rule_id == "harm-words-narrative" and alert.case_id == case_id
    assert told(found, alert.id) == [(team.owner.id, 0, "case_owner")]


def test_an_alert_with_nobody_left_to_tell_is_marked_as_such(app, found, team, clock):
    feedback(app, found, team.case_id, team.owner.id, {"safe_now": "no"})
    (alert,) = all_alerts(found)
    for _step in range(4):
        clock.advance(minutes=15, seconds=1)
        escalate_due(found)
    (alert,) = all_alerts(found)
    assert alert.exhausted_at is not None and alert.deadline_at is None
    since = f'<time datetime="{alert.exhausted_at:%Y-%m-%dT%H:%M:%SZ}"'
    duty = team.duty
    assert duty.auth.sign_in(duty.username, duty.password).status_code == 302  # the clock outran the session
    inbox = duty.get("/alerts/").get_data(as_text=True)
    assert 'data-state="stranded"' in inbox and "Nobody left to tell" in inbox and "Overdue by 45 minutes" in inbox
    page = duty.get(f"/alerts/a/{alert.reference}").get_data(as_text=True)
    assert "Nobody left to tell" in page and since in page and 'data-state="stranded"' in page
    assert "Acknowledge: I am dealing with this" in page
    assert duty.form_post(f"/alerts/a/{alert.reference}", f"/alerts/a/{alert.reference}/acknowledge").status_code == 303
    after = duty.get("/alerts/").get_data(as_text=True)
    assert 'data-state="acknowledged"' in after and "Nobody left to tell" not in after
