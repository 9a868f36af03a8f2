"""The alerts blueprint and what its pages share: the member asking, the counts every staff page shows.

Who opens which page is declared in ``policy/pages.py``: the inbox for the
roles that hold cases, the dead-letter list for those who fix a channel or
make sure a person was told another way, the rota for those who answer for
cover.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_login import current_user
from wtforms import SelectChoice

from casefeedback.alerts import inbox, overdue
from casefeedback.auth.sessions import StaffMember
from casefeedback.policy.pages import may_open, role_gate
from casefeedback.services import services

bp = Blueprint("alerts", __name__, url_prefix="/alerts")
role_gate(bp)


@bp.app_context_processor
def _counts() -> dict[str, Any]:
    def open_alert_count() -> int:
        # Counted only for someone who may open the inbox it counts.
        if not current_user.is_authenticated or not may_open(current_user.member.role, "alerts.index"):
            return 0
        return inbox.open_count(services(), current_user.member.id)

    return {"open_alert_count": open_alert_count, "case_alerts": lambda case_id: inbox.for_case(services(), case_id)}


@bp.app_context_processor
def _overdue() -> dict[str, Any]:
    def overdue_alerts() -> list[overdue.OverdueAlert]:
        # Called by the banner on every staff page: one indexed query, only for the signed in.
        return overdue.overdue_for(services(), current_user.member) if current_user.is_authenticated else []

    return {"overdue_alerts": overdue_alerts}


def member() -> StaffMember:
    """The signed-in member of staff (the role gate and deny-by-default let nobody else in)."""
    signed_in: StaffMember = current_user.member
    return signed_in


def service_choices() -> list[SelectChoice]:
    return [SelectChoice(p.id, p.name.get("en", p.id)) for p in services().policies.services.values()]
