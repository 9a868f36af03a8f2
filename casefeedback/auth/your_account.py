"""'Your account': change one's own password, make new recovery codes."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from casefeedback.auth import accounts, mfa
from casefeedback.auth.blueprint import SIGN_IN_LIMIT, bp, log_in
from casefeedback.auth.confirmation import confirmation_required
from casefeedback.auth.forms import EmptyForm, PasswordChangeForm
from casefeedback.auth.passwords import password_problem
from casefeedback.ratelimit import limiter
from casefeedback.services import services


@bp.route("/account", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
def account() -> Any:
    """Change one's own password. Every session of the account ends; this browser gets a new one."""
    found = services()
    form = PasswordChangeForm()
    page = {"form": form, "codes_left": mfa.codes_left(found, current_user.member.id), "renew_form": EmptyForm()}
    if not form.validate_on_submit():
        return render_template("auth/account.html", **page), (400 if form.errors else 200)
    problem = password_problem(form.new.data)
    if problem:
        form.new.errors.append(problem)
        return render_template("auth/account.html", **page), 400
    token = accounts.change_password(found, current_user.member, form.current.data, form.new.data)
    if token is None:
        form.current.errors.append("Your current password is not right.")
        return render_template("auth/account.html", **page), 401
    log_in(token)
    flash("Your password has been changed. You have been signed out everywhere else.")
    return redirect(url_for("auth.account"), code=303)


@bp.route("/account/recovery-codes", methods=["POST"])
@confirmation_required(back="auth.account")
def renew_recovery_codes() -> Any:
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("auth.account"), code=303)
    codes = mfa.renew_recovery_codes(services(), current_user.member)
    return render_template("auth/recovery_codes.html", codes=codes, next_url=url_for("auth.account"),
                           first_time=False)
