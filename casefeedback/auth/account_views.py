"""A signed-in person's own session and account: stay signed in, confirm who they are,
change their password, make new recovery codes. Registered on the auth blueprint."""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user

from casefeedback.audit import AuditEvent
from casefeedback.auth import accounts, mfa, signin, throttle
from casefeedback.auth.confirmation import confirmation_required, safe_next
from casefeedback.auth.forms import ConfirmForm, EmptyForm, PasswordChangeForm
from casefeedback.auth.passwords import password_problem, verify_password
from casefeedback.auth.sessions import lookup, start_session
from casefeedback.auth.views import SIGN_IN_LIMIT, StaffUser, bp, home_url, session_rules
from casefeedback.ratelimit import limiter
from casefeedback.services import services
from casefeedback.storage.engine import read, write


def _audit(connection: Any, action: str, outcome: str = "success", **detail: str | int | bool | None) -> None:
    member = current_user.member
    services().audit.append(connection, AuditEvent(action=action, outcome=outcome, actor_id=member.id,
                                                   actor_role=member.role, detail=detail))


@bp.route("/session/extend", methods=["POST"])
def extend_session() -> Any:
    """The idle-timeout warning's "Stay signed in" (a fetch from static/staff-session.js; CSRF in a header)."""
    found = services()
    with write(found.engine) as connection:
        result = lookup(connection, current_user.token, found.clock(), session_rules(), touch=True)
    if result.info is None:
        return jsonify({"signed_in": False}), 401
    rules = session_rules()
    left = int((result.info.ends_at(rules) - found.clock()).total_seconds())
    return jsonify({"signed_in": True, "seconds_left": left, "can_extend": result.info.can_extend(rules)})


@bp.route("/confirm", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
def confirm() -> Any:
    form = ConfirmForm()
    target = safe_next(request.args.get("next"), home_url(current_user.member.role))
    if not form.validate_on_submit():
        return render_template("auth/confirm.html", form=form), (400 if form.errors else 200)
    step = signin.confirm_identity(services(), current_user.member, current_user.token, form.password.data,
                                   form.code.data, purpose="key_operation")
    if step.outcome == "locked":
        minutes = throttle.minutes_left(step.locked_until, services().clock()) if step.locked_until else 1
        form.form_errors.append(f"There have been too many attempts. Wait {minutes} minute"
                                f"{'s' if minutes != 1 else ''}, then try again.")
        return render_template("auth/confirm.html", form=form), 429
    if step.outcome != "ok":
        form.code.errors.append("The password or the code is not right. Check them and try again.")
        return render_template("auth/confirm.html", form=form), 401
    return redirect(target, code=303)


@bp.route("/account", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
def account() -> Any:
    """Change one's own password. Every session of the account ends; this browser gets a new one."""
    found = services()
    form = PasswordChangeForm()
    with read(found.engine) as connection:
        left = mfa.recovery_codes_left(connection, current_user.member.id)
    page = {"form": form, "codes_left": left, "renew_form": EmptyForm()}
    if not form.validate_on_submit():
        return render_template("auth/account.html", **page), (400 if form.errors else 200)
    problem = password_problem(form.new.data)
    if problem:
        form.new.errors.append(problem)
        return render_template("auth/account.html", **page), 400
    member = current_user.member
    with write(found.engine) as connection:
        row = accounts.find_by_id(connection, member.id)
        ok, _ = verify_password(row.password_hash, form.current.data)
        if not ok:
            throttle.record_failure(connection, member.username, found.clock())
            _audit(connection, "staff.password_change", "failure")
        else:
            accounts.set_password(connection, member.id, form.new.data, found.clock())  # ends every session
            token = start_session(connection, member.id, found.clock())
            _audit(connection, "staff.password_change")
    if not ok:
        form.current.errors.append("Your current password is not right.")
        return render_template("auth/account.html", **page), 401
    session.clear()
    with write(found.engine) as connection:
        result = lookup(connection, token, found.clock(), session_rules())
    if result.member is not None:
        login_user(StaffUser(result.member, token, result.info))
    flash("Your password has been changed. You have been signed out everywhere else.")
    return redirect(url_for("auth.account"), code=303)


@bp.route("/account/recovery-codes", methods=["POST"])
@confirmation_required(back="auth.account")
def renew_recovery_codes() -> Any:
    found = services()
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("auth.account"), code=303)
    with write(found.engine) as connection:
        codes = mfa.new_recovery_codes(connection, current_user.member.id, found.clock())
        _audit(connection, "staff.mfa.recovery_codes", count=len(codes))
    return render_template("auth/recovery_codes.html", codes=codes, next_url=url_for("auth.account"),
                           first_time=False)
