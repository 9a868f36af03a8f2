"""Staff sign-in and sign-out."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from casefeedback.audit import AuditEvent
from casefeedback.auth import accounts
from casefeedback.auth.passwords import verify_password
from casefeedback.auth.sessions import StaffMember, end_session, load_session, start_session
from casefeedback.services import services
from casefeedback.storage.engine import write

bp = Blueprint("auth", __name__, url_prefix="/staff")


class StaffUser(UserMixin):  # type: ignore[misc]
    """The signed-in staff member. Its Flask-Login id is the session token, so
    that ending the server-side session logs the browser out."""

    def __init__(self, member: StaffMember, token: str) -> None:
        self.member = member
        self.token = token

    def get_id(self) -> str:
        return self.token


def install_login(app: Flask, manager: LoginManager) -> None:
    manager.session_protection = "strong"
    manager.login_view = "auth.sign_in"
    manager.login_message = "Sign in to continue."

    @manager.user_loader  # type: ignore[untyped-decorator]
    def _load(token: str) -> StaffUser | None:
        found = services()
        with write(found.engine) as connection:
            member = load_session(connection, token, found.clock())
        return StaffUser(member, token) if member else None


class SignInForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Username", validators=[DataRequired("Enter your username"), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password"), Length(max=256)])


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("casework.my_cases"))
    form = SignInForm()
    if not form.validate_on_submit():
        return render_template("auth/sign_in.html", form=form), (400 if form.errors else 200)
    token = _authenticate(form.username.data, form.password.data)
    if token is None:
        form.password.errors.append("The username or password is not right. Check them and try again.")
        return render_template("auth/sign_in.html", form=form), 401
    session.clear()  # a fresh session at sign-in: no fixation
    login_user(_user_for(token))
    return redirect(url_for("casework.my_cases"))


def _authenticate(username: str, password: str) -> str | None:
    found = services()
    with write(found.engine) as connection:
        row = accounts.find_by_username(connection, username)
        usable = row is not None and row.enabled
        ok, rehash = verify_password(row.password_hash if usable else None, password)
        if not ok:
            found.audit.append(connection, AuditEvent(
                action="staff.sign_in", outcome="failure", actor_id=row.id if row else None,
                actor_role=row.role if row else None, detail={"known_account": row is not None}))
            return None
        if rehash:
            accounts.replace_password_hash(connection, row.id, rehash)
        token = start_session(connection, row.id, found.clock())
        found.audit.append(connection, AuditEvent(action="staff.sign_in", outcome="success",
                                                  actor_id=row.id, actor_role=row.role))
        return token


def _user_for(token: str) -> StaffUser:
    found = services()
    with write(found.engine) as connection:
        member = load_session(connection, token, found.clock())
    assert member is not None  # noqa: S101 — created in the transaction just committed
    return StaffUser(member, token)


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
