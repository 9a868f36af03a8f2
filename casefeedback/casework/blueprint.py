"""The casework blueprint and what its pages share: the member asking, the count in the navigation, and how
a service's "not found" or "not allowed" becomes a page.

Only the roles ``policy/pages.py`` declares for casework reach it (403 for
everyone else). A case that does not exist and a case that is not yours get
exactly the same 404 page, so ids cannot be probed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from flask_login import current_user
from werkzeug.exceptions import Forbidden, NotFound
from wtforms import SelectChoice

from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import CaseNotFound, NotAllowed
from casefeedback.casework.invitations import InvitationNotFound
from casefeedback.casework.notifications import unread_count
from casefeedback.policy.pages import may_open, role_gate
from casefeedback.reading import NotFound as SubmissionNotFound
from casefeedback.services import services

bp = Blueprint("casework", __name__, url_prefix="/casework")
role_gate(bp)


@bp.errorhandler(CaseNotFound)
@bp.errorhandler(InvitationNotFound)
@bp.errorhandler(SubmissionNotFound)
def _not_found(_error: Exception) -> Any:
    return current_app.handle_http_exception(NotFound())


@bp.errorhandler(NotAllowed)
def _not_allowed(_error: NotAllowed) -> Any:
    return current_app.handle_http_exception(Forbidden())


@bp.app_context_processor
def _navigation() -> dict[str, Any]:
    def unread_notifications() -> int:
        # Counted only for someone who may open the page it counts.
        if not current_user.is_authenticated or not may_open(current_user.member.role, "casework.notifications"):
            return 0
        return unread_count(services(), current_user.member.id)

    return {"unread_notifications": unread_notifications}


def member() -> StaffMember:
    """The signed-in member of staff (the role gate and deny-by-default let nobody else in)."""
    signed_in: StaffMember = current_user.member
    return signed_in


def service_choices() -> list[SelectChoice]:
    return [SelectChoice(p.id, p.name.get("en", p.id)) for p in services().policies.services.values()]
