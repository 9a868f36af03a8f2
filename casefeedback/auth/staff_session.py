"""A signed-in person's session: their home page, staying signed in, confirming who they are, signing out."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from casefeedback.auth import sessions, signin, throttle
from casefeedback.auth.blueprint import HOME, SIGN_IN_LIMIT, bp, home_url, session_rules
from casefeedback.auth.confirmation import safe_next
from casefeedback.auth.forms import ConfirmForm
from casefeedback.ratelimit import limiter
from casefeedback.services import services


@bp.route("/", methods=["GET"])
def home() -> Any:
    endpoint = HOME.get(current_user.member.role)
    if endpoint and endpoint in current_app.view_functions:
        return redirect(url_for(endpoint))
    return render_template("auth/home.html")


@bp.route("/session/extend", methods=["POST"])
def extend_session() -> Any:
    """The idle-timeout warning's "Stay signed in" (a fetch from static/staff-session.js; CSRF in a header)."""
    found = services()
    result = sessions.extend_session(found, current_user.token)
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


@bp.route("/sign-out", methods=["POST"])
def sign_out() -> Any:
    sessions.sign_out(services(), current_user.member, current_user.token)
    logout_user()
    session.clear()
    flash("You have signed out.")
    return redirect(url_for("auth.sign_in"))
