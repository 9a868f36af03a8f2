"""A duty system reads alert states (never what was said) and acknowledges an alert on behalf of a named staff
member — only one the alert's rule lets act on it, exactly as on the alert's page."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from casefeedback.policy.api_scopes import ALERT_STATE_FIELDS
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import alerts, audit_events
from tests.api.support import Caller, calls_of, is_problem, register
from tests.conftest import StaffFactory, canary


def _alert_on_a_case(caller: Caller, owner: str, words: str) -> str:
    case_id = caller.post("/api/v1/cases", {"owner": owner, "service_id": "victim-support",
                                            "reference": "VS-9"}).get_json()["id"]
    invitation = caller.post(f"/api/v1/cases/{case_id}/invitations", {"on_behalf_of": owner}).get_json()
    sent = caller.post("/api/v1/feedback", {
        "service_id": "victim-support", "language": "en", "channel": "kiosk", "invitation_id": invitation["id"],
        "answers": {"safe_now": "no", "anything_else": words},
        "consent": {"choices": {"store": True}, "method": "channel", "version": 1}})
    assert sent.status_code == 201 and sent.get_json()["linked_to_case"] is True, sent.get_data(as_text=True)
    listed = caller.get("/api/v1/alerts").get_json()["alerts"]
    assert len(listed) == 1
    return str(listed[0]["reference"])


def test_read_states_and_acknowledge_on_behalf(app: Flask, found: Services, caller: Caller,
                                              staff_factory: StaffFactory) -> None:
    owner_id, owner, _ = staff_factory("caseworker", team="North")
    _, stranger, _ = staff_factory("caseworker", team="South")
    words = canary()
    reference = _alert_on_a_case(caller, owner, words)
    duty = register(app, "duty pager", ["alerts:read", "alerts:acknowledge"])

    state = duty.get(f"/api/v1/alerts/{reference}")
    assert state.status_code == 200
    shown = state.get_json()
    assert set(shown) == set(ALERT_STATE_FIELDS) and shown["state"] == "open" and shown["severity"] == "urgent"
    assert words not in state.get_data(as_text=True) and "safe" not in state.get_data(as_text=True).lower()
    assert duty.get("/api/v1/alerts?state=acknowledged").get_json() == {"alerts": []}

    # Someone the rule does not let act is answered as if the alert did not exist, and nothing changes.
    is_problem(duty.post(f"/api/v1/alerts/{reference}/acknowledge", {"on_behalf_of": stranger}), 404)
    assert duty.get(f"/api/v1/alerts/{reference}").get_json()["state"] == "open"

    done = duty.post(f"/api/v1/alerts/{reference}/acknowledge", {"on_behalf_of": owner})
    assert done.get_json() == {"reference": reference, "changed": True}
    assert duty.get(f"/api/v1/alerts/{reference}").get_json()["state"] == "acknowledged"
    assert duty.post(f"/api/v1/alerts/{reference}/acknowledge", {"on_behalf_of": owner}).get_json()["changed"] is False
    with read(found.engine) as connection:
        assert connection.execute(select(alerts.c.acknowledged_by)).scalar_one() == owner_id
        acknowledged = connection.execute(select(audit_events).where(
            audit_events.c.action == "alert.acknowledge").order_by(audit_events.c.seq)).all()
    assert [(e.actor_id, e.outcome) for e in acknowledged][-1] == (owner_id, "acknowledged")
    assert any(e.outcome == "denied" for e in acknowledged)  # the stranger's attempt
    calls = [e.detail for e in calls_of(found, duty.id)]
    assert sum("acknowledgeAlert" in d for d in calls) == 3 and sum(owner_id in d for d in calls) == 2
    is_problem(duty.get("/api/v1/alerts/NOSUCHALERT"), 404)
    is_problem(duty.get("/api/v1/alerts?state=burning"), 400)
