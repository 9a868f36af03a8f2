"""Alert states for a duty system: what state each alert is in and when it is due — never what it is about.

What may be said is declared in ``policy/api_scopes.ALERT_STATE_FIELDS``: no rule
title (it says what the person wrote about), no case, no feedback. So reading
states opens nothing sealed and needs no per-person decision; acting on an alert
does (``alerts.inbox.acknowledge``, for the named staff member).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casefeedback.alerts.listing import AlertView, ordered, views
from casefeedback.policy.api_scopes import ALERT_STATE_FIELDS
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import alerts

MAX_LISTED = 500


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def state_of(view: AlertView) -> dict[str, Any]:
    shown = {"reference": view.reference, "service": view.service_id, "severity": view.severity,
             "state": view.state, "raised_at": _instant(view.raised_at),
             "acknowledge_by": _instant(view.acknowledge_by), "overdue": view.overdue,
             "acknowledged_at": _instant(view.acknowledged_at), "resolved_at": _instant(view.resolved_at),
             "step": view.step}
    return {name: shown[name] for name in ALERT_STATE_FIELDS}


def states(found: Services, state: str | None = None) -> list[dict[str, Any]]:
    """Every alert's state (or only those in ``state``), overdue first, at most MAX_LISTED."""
    with read(found.engine) as connection:
        listed = ordered(views(found, connection))
    return [state_of(v) for v in listed if state is None or v.state == state][:MAX_LISTED]


def one(found: Services, reference: str) -> dict[str, Any] | None:
    with read(found.engine) as connection:
        shown = views(found, connection, alerts.c.reference == reference)
    return state_of(shown[0]) if shown else None
