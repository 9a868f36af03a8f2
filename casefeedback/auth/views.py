"""Staff sign-in (password, then a second factor) and sign-out."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from casefeedback.audit import AuditEvent
from casefeedback.auth import mfa, signin, throttle
from casefeedback.auth.forms import CodeForm, EnrolForm, SignInForm
from casefeedback.auth.sessions import SessionInfo, StaffMember, end_session, lookup
from casefeedback.policy.model import StaffSessionRules
from casefeedback.ratelimit import limiter
from casefeedback.services import services
from casefeedback.storage.engine import write

bp = Blueprint("auth", __name__, url_prefix="/staff")

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
    "analyst": "insight.index",
}
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
    return services().policies.organisation.staff_sessions


def install_login(app: Flask, manager: LoginManager) -> None:
    manager.session_protection = "strong"
    manager.login_view = "auth.sign_in"
    manager.login_message = "Sign in to continue."

    @manager.user_loader  # type: ignore[untyped-decorator]
    def _load(token: str) -> StaffUser | None:
        found = services()
        with write(found.engine) as connection:
            result = lookup(connection, token, found.clock(), session_rules())
            if result.ended in ENDED:
                found.audit.append(connection, AuditEvent(action="staff.session_end", outcome=str(result.ended),
                                                          actor_id=result.staff_id))
        if result.ended in ENDED:
            flash(ENDED[str(result.ended)])
        if result.member is None:
            return None
        return StaffUser(result.member, token, result.info)

    @app.context_processor
    def _session_timing() -> dict[str, Any]:
        return {"session_timing": _timing}


def _timing() -> dict[str, int] | None:
    """For the idle-timeout warning (static/staff-session.js): seconds left and when to warn."""
    if not current_user.is_authenticated or current_user.info is None:
        return None
    rules, now = session_rules(), services().clock()
    info: SessionInfo = current_user.info
    return {"seconds_left": max(0, int((info.ends_at(rules) - now).total_seconds())),
            "warn_seconds": int(rules.idle_warning.total_seconds()),
            "can_extend": int(info.can_extend(rules))}


def home_url(role: str) -> str:
    endpoint = HOME.get(role)
    if endpoint and endpoint in current_app.view_functions:
        return url_for(endpoint)
    return url_for("auth.home")


def _locked(form: Any, template: str, until: Any) -> Any:
    minutes = throttle.minutes_left(until, services().clock())
    form.form_errors.append(
        f"There have been too many attempts to sign in to this account. For its safety, it is locked for "
        f"{minutes} minute{'s' if minutes != 1 else ''}. Wait, then try again. If you have forgotten your "
        "password or lost your authenticator app, ask an administrator.")
    return render_template(template, form=form), 429


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
def sign_in() -> Any:
    if current_user.is_authenticated:
        return redirect(home_url(current_user.member.role))
    form = SignInForm()
    if not form.validate_on_submit():
        return render_template("auth/sign_in.html", form=form), (400 if form.errors else 200)
    step = signin.check_password(services(), form.username.data, form.password.data)
    if step.outcome == "locked":
        return _locked(form, "auth/sign_in.html", step.locked_until)
    if step.outcome != "ok":
        form.password.errors.append("The username or password is not right. Check them and try again.")
        return render_template("auth/sign_in.html", form=form), 401
    session.clear()
    session["sign_in"] = step.token
    return redirect(url_for("auth.sign_in_code" if step.enrolled else "auth.sign_in_enrol"), code=303)


def _challenge() -> tuple[Any, str | None]:
    token = session.get("sign_in")
    return signin.challenge_state(services(), token) if isinstance(token, str) else (None, None)


def _start_again() -> Any:
    session.pop("sign_in", None)
    flash("For your security, signing in has to be finished within 5 minutes. Please start again.")
    return redirect(url_for("auth.sign_in"), code=303)


def _challenge_ended(step: signin.Step, form: Any) -> Any | None:
    """The page when the challenge ran out or the account locked while the code was typed; else None."""
    if step.outcome == "expired":
        return _start_again()
    if step.outcome == "locked":
        session.pop("sign_in", None)
        return _locked(form, "auth/code.html", step.locked_until)
    return None


@bp.route("/sign-in/code", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
def sign_in_code() -> Any:
    account, pending = _challenge()
    if account is None:
        return _start_again()
    if pending is not None:
        return redirect(url_for("auth.sign_in_enrol"), code=303)
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("auth/code.html", form=form), (400 if form.errors else 200)
    step = signin.check_code(services(), session["sign_in"], form.code.data)
    if (ended := _challenge_ended(step, form)) is not None:
        return ended
    if step.outcome != "ok":
        form.code.errors.append("That code is not right. Codes change every 30 seconds: enter the one your app "
                                "shows now.")
        return render_template("auth/code.html", form=form), 401
    _log_in(step.token)
    if step.second_factor == "recovery":
        flash(f"You used a recovery code. It will not work again. You have {step.recovery_left} left; "
              "make new ones from 'Your account' if you are running low.")
    return redirect(home_url(current_user.member.role))


@bp.route("/sign-in/enrol", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
def sign_in_enrol() -> Any:
    account, pending = _challenge()
    if account is None:
        return _start_again()
    if pending is None:
        return redirect(url_for("auth.sign_in_code"), code=303)
    form = EnrolForm()
    page = {"form": form, "secret": pending, "qr": mfa.qr_data_uri(mfa.provisioning_uri(pending, account.username))}
    if not form.validate_on_submit():
        return render_template("auth/enrol.html", **page), (400 if form.errors else 200)
    step = signin.enrol(services(), session["sign_in"], form.code.data)
    if (ended := _challenge_ended(step, form)) is not None:
        return ended
    if step.outcome != "ok":
        form.code.errors.append("That code is not right. Check the app shows 'casefeedback' and enter the code "
                                "it shows now.")
        return render_template("auth/enrol.html", **page), 401
    _log_in(step.token)
    # Shown in this response only: the codes are stored only as hashes.
    return render_template("auth/recovery_codes.html", codes=step.recovery_codes,
                           next_url=home_url(current_user.member.role), first_time=True)


def _log_in(token: str | None) -> None:
    """A fresh Flask session (no fixation) bound to the new server-side session."""
    found = services()
    with write(found.engine) as connection:
        result = lookup(connection, str(token), found.clock(), session_rules())
    if result.member is None:  # pragma: no cover — created in the transaction just committed
        raise RuntimeError("a new session could not be loaded")
    session.clear()
    login_user(StaffUser(result.member, str(token), result.info))


@bp.route("/", methods=["GET"])
def home() -> Any:
    endpoint = HOME.get(current_user.member.role)
    if endpoint and endpoint in current_app.view_functions:
        return redirect(url_for(endpoint))
    return render_template("auth/home.html")


@bp.route("/sign-out", methods=["POST"])
def sign_out() -> Any:
    found = services()
    with write(found.engine) as connection:
        end_session(connection, current_user.token)
        found.audit.append(connection, AuditEvent(action="staff.sign_out", outcome="success",
                                                  actor_id=current_user.member.id,
                                                  actor_role=current_user.member.role))
    logout_user()
    session.clear()
    flash("You have signed out.")
    return redirect(url_for("auth.sign_in"))


# Session, re-authentication and account pages register on ``bp`` too.
from casefeedback.auth import account_views  # noqa: E402, F401
