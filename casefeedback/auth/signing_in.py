"""Signing in: the password, then the second factor (or setting one up), each step its own page.

Between the steps the browser holds only a random challenge token in its
session; ``auth.signin`` owns each step's transaction, lockout and audit event.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, session, url_for
from flask_login import current_user

from casefeedback.auth import mfa, signin, throttle
from casefeedback.auth.blueprint import SIGN_IN_LIMIT, bp, home_url, log_in
from casefeedback.auth.forms import CodeForm, EnrolForm, SignInForm
from casefeedback.policy.pages import public
from casefeedback.ratelimit import limiter
from casefeedback.services import services


@bp.route("/sign-in", methods=["GET", "POST"])
@public
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


@bp.route("/sign-in/code", methods=["GET", "POST"])
@public
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
    log_in(step.token)
    if step.second_factor == "recovery":
        flash(f"You used a recovery code. It will not work again. You have {step.recovery_left} left; "
              "make new ones from 'Your account' if you are running low.")
    return redirect(home_url(current_user.member.role))


@bp.route("/sign-in/enrol", methods=["GET", "POST"])
@public
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
    log_in(step.token)
    # Shown in this response only: the codes are stored only as hashes.
    return render_template("auth/recovery_codes.html", codes=step.recovery_codes,
                           next_url=home_url(current_user.member.role), first_time=True)


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


def _locked(form: Any, template: str, until: Any) -> Any:
    minutes = throttle.minutes_left(until, services().clock())
    form.form_errors.append(
        f"There have been too many attempts to sign in to this account. For its safety, it is locked for "
        f"{minutes} minute{'s' if minutes != 1 else ''}. Wait, then try again. If you have forgotten your "
        "password or lost your authenticator app, ask an administrator.")
    return render_template(template, form=form), 429
