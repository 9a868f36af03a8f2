"""The staff blueprint (/staff) and what its views share: the signed-in user, where each role starts.

Flask-Login's user id is the server-side session's token, so ending the
session row (sign-out, a disabled account, a changed password) signs the
browser out on its very next request.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, flash, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user

from casefeedback.auth.sessions import SessionInfo, StaffMember, load_session, rules_of
from casefeedback.policy.model import StaffSessionRules
from casefeedback.policy.pages import role_gate
from casefeedback.services import services

bp = Blueprint("auth", __name__, url_prefix="/staff")
role_gate(bp)

# Per address, on top of the per-account lockout: generous, because a whole
# office or refuge may share one address, but enough to stop password spraying.
SIGN_IN_LIMIT = "20 per minute;200 per hour"

# Where each role starts. An endpoint that is not (yet) part of the app falls back to the staff home page.
HOME = {
    "caseworker": "casework.my_cases",
    "supervisor": "casework.my_cases",
    "duty_manager": "casework.my_cases",
    "administrator": "admin.index",
    "auditor": "auditor.search_view",
    "analyst": "insight.overview",
    "records_officer": "records.holds_list",
}
# Why a session ended without the person signing out (``sessions.TIMED_OUT``), told at the next page.
ENDED = {
    "idle": "You were signed out because you had not done anything for a while. Sign in again to carry on.",
    "absolute": "You were signed out because you have been signed in for a long time. Sign in again to carry on.",
}


class StaffUser(UserMixin):  # type: ignore[misc]
    """The signed-in staff member. Its Flask-Login id is the session token, so
    that ending the server-side session logs the browser out."""

    def __init__(self, member: StaffMember, token: str, info: SessionInfo | None = None) -> None:
        self.member = member
        self.token = token
        self.info = info

    def get_id(self) -> str:
        return self.token


def session_rules() -> StaffSessionRules:
    return rules_of(services())


def install_login(app: Flask, manager: LoginManager) -> None:
    manager.session_protection = "strong"
    manager.login_view = "auth.sign_in"
    manager.login_message = "Sign in to continue."

    @manager.user_loader  # type: ignore[untyped-decorator]
    def _load(token: str) -> StaffUser | None:
        result = load_session(services(), token)
        if result.ended in ENDED:
            flash(ENDED[str(result.ended)])
        if result.member is None:
            return None
        return StaffUser(result.member, token, result.info)

    @app.context_processor
    def _session_timing() -> dict[str, Any]:
        return {"session_timing": _timing, "staff_home": _staff_home}


def _timing() -> dict[str, int] | None:
    """For the idle-timeout warning (static/staff-session.js): seconds left and when to warn."""
    if not current_user.is_authenticated or current_user.info is None:
        return None
    rules, now = session_rules(), services().clock()
    info: SessionInfo = current_user.info
    return {"seconds_left": max(0, int((info.ends_at(rules) - now).total_seconds())),
            "warn_seconds": int(rules.idle_warning.total_seconds()),
            "can_extend": int(info.can_extend(rules))}


def _staff_home() -> str:
    """Where the service name in the staff header leads: the signed-in person's start page, else signing in."""
    if not current_user.is_authenticated:
        return url_for("auth.sign_in")
    return home_url(current_user.member.role)


def home_url(role: str) -> str:
    endpoint = HOME.get(role)
    if endpoint and endpoint in current_app.view_functions:
        return url_for(endpoint)
    return url_for("auth.home")


def log_in(token: str | None) -> None:
    """A fresh Flask session (no fixation) bound to a server-side session just started."""
    result = load_session(services(), str(token))
    if result.member is None:  # pragma: no cover — created in the transaction just committed
        raise RuntimeError("a new session could not be loaded")
    session.clear()
    login_user(StaffUser(result.member, str(token), result.info))
