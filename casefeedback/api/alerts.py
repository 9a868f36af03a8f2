"""Alerts for a duty system: read their states; acknowledge one on behalf of a named staff member."""

from __future__ import annotations

from typing import Any

from casefeedback.alerts import inbox
from casefeedback.api import alert_states
from casefeedback.api.blueprint import about, answer, body, bp, on_behalf_of, query
from casefeedback.api.operations import operation
from casefeedback.api.problems import Problem
from casefeedback.api.schemas import MAYBE_WHEN, ON_BEHALF, WHEN, answered
from casefeedback.services import services

STATES = ["open", "stranded", "acknowledged", "resolved"]
REFERENCE = {"type": "string", "minLength": 1, "maxLength": 16, "pattern": "^[A-Za-z0-9-]+$"}
ALERT = answered(
    [], reference=REFERENCE, service={"type": "string"},
    severity={"type": "string", "enum": ["urgent", "high", "routine"]},
    state={"type": "string", "enum": STATES, "description": "stranded: nobody is left in its chain to tell"},
    raised_at=WHEN, acknowledge_by=MAYBE_WHEN, overdue={"type": "boolean"}, acknowledged_at=MAYBE_WHEN,
    resolved_at=MAYBE_WHEN, step={"type": "integer", "description": "How far up its escalation chain it is"})


@operation(bp, "/api/v1/alerts", "GET", operation_id="listAlerts", summary="Alert states, overdue first",
           tag="Alerts", scope="alerts:read", query={"state": {"type": "string", "enum": STATES}},
           responses={200: ("Alert states (never what the feedback said)",
                            answered(["alerts"], alerts={"type": "array", "items": ALERT}))})
def list_alerts() -> Any:
    return answer({"alerts": alert_states.states(services(), query().get("state"))})


@operation(bp, "/api/v1/alerts/{reference}", "GET", operation_id="getAlert", summary="One alert's state",
           tag="Alerts", scope="alerts:read", path_params={"reference": REFERENCE},
           responses={200: ("The alert's state", ALERT)}, problems={404: "No such alert"})
def get_alert(reference: str) -> Any:
    found = alert_states.one(services(), reference)
    if found is None:
        raise Problem(404, "No such alert.")
    return answer(found)


@operation(bp, "/api/v1/alerts/{reference}/acknowledge", "POST", operation_id="acknowledgeAlert",
           summary="Acknowledge an alert on behalf of a staff member", tag="Alerts", scope="alerts:acknowledge",
           path_params={"reference": REFERENCE}, body=ON_BEHALF,
           responses={200: ("Acknowledged; changed is false if someone already had",
                            answered(["reference", "changed"], reference=REFERENCE, changed={"type": "boolean"}))},
           problems={404: "No such alert among those this staff member may act on",
                     422: "No active staff member by that username"},
           description="Escalation stops. The staff member must be one the alert's rule lets act on it, or "
                       "one who was told of it: exactly as on the alert's page.")
def acknowledge_alert(reference: str) -> Any:
    member = on_behalf_of(body()["on_behalf_of"])
    about(reference)
    try:
        changed = inbox.acknowledge(services(), member, reference)
    except inbox.NoSuchAlert:
        raise Problem(404, "No such alert among those this staff member may act on.") from None
    return answer({"reference": reference, "changed": changed})
