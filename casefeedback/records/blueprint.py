"""The records blueprint (/records) and what its pages share: who is asking, and the holds due for review.

Only the records roles reach it (``policy/pages.py``): a records officer sees
case references and holds, never feedback, because they stand in no relation
to any case. A hold that does not exist is a 404 like any other page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from flask_login import current_user
from werkzeug.exceptions import Forbidden, NotFound

from casefeedback.auth.sessions import StaffMember
from casefeedback.policy.decisions import Actor
from casefeedback.policy.pages import may_open, role_gate
from casefeedback.retention import hold_reading
from casefeedback.retention.holds import Changer, HoldError
from casefeedback.services import services

bp = Blueprint("records", __name__, url_prefix="/records")
role_gate(bp)


@bp.app_context_processor
def _due() -> dict[str, Any]:
    def holds_due_for_review() -> int:
        # Counted only for someone who may open the list it counts: one indexed count, on every staff page.
        if not current_user.is_authenticated or not may_open(current_user.member.role, "records.holds_list"):
            return 0
        return hold_reading.due_count(services())

    return {"holds_due_for_review": holds_due_for_review}


def member() -> StaffMember:
    """The signed-in member of staff (the role gate and deny-by-default let nobody else in)."""
    signed_in: StaffMember = current_user.member
    return signed_in


def changer() -> Changer:
    return Changer(member().id, member().role)


def actor() -> Actor:
    return Actor(member().id, member().role, member().team_id)


def refused(error: HoldError) -> Any:
    """A hold that is not there, or not theirs to read, as the app's own 404 or 403 page."""
    if error.status == 404:
        return current_app.handle_http_exception(NotFound())
    return current_app.handle_http_exception(Forbidden())
