"""Break-glass: a supervisor or duty manager opens a case outside their normal access, and ends it."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from casefeedback.auth import throttle
from casefeedback.casework import breakglass
from casefeedback.casework.blueprint import bp, member
from casefeedback.casework.forms import BreakGlassForm, EmptyForm
from casefeedback.policy.roles import BREAK_GLASS_ROLES
from casefeedback.ratelimit import limiter
from casefeedback.services import services


def _page(form: BreakGlassForm, status: int = 200) -> Any:
    rules = services().policies.organisation.break_glass
    minutes = int(rules.lasts.total_seconds() // 60)
    return render_template("casework/break_glass.html", form=form, minutes=minutes), status


@bp.route("/break-glass", methods=["GET", "POST"])
@limiter.limit("20 per minute;200 per hour", methods=["POST"])
def break_glass() -> Any:
    if member().role not in BREAK_GLASS_ROLES:
        abort(403)
    form = BreakGlassForm()
    if not form.validate_on_submit():
        return _page(form, 400 if form.errors else 200)
    try:
        opened = breakglass.open_break_glass(services(), member(), current_user.token, case_key=form.case.data,
                                             reason=form.reason.data, password=form.password.data,
                                             code=form.code.data)
    except breakglass.Refused as refused:
        form.form_errors.append(str(refused))
        return _page(form, refused.status)
    except breakglass.NotConfirmed as failed:
        if failed.locked_until is not None:
            minutes = throttle.minutes_left(failed.locked_until, services().clock())
            form.form_errors.append(f"There have been too many attempts. Wait {minutes} minute"
                                    f"{'s' if minutes != 1 else ''}, then try again.")
            return _page(form, 429)
        form.code.errors.append("The password or the code is not right. Nothing has been opened.")
        return _page(form, 401)
    if opened.new:
        flash(f"Break-glass is open until {opened.expires_at:%H:%M} UTC. Everything you open is recorded and "
              "flagged, and the case team's supervisor has been told.")
    else:
        flash(f"You already have break-glass on this case until {opened.expires_at:%H:%M} UTC. Nothing new was "
              "opened.")
    return redirect(url_for("casework.case", case_id=opened.case_id), code=303)


@bp.route("/cases/<case_id>/break-glass/end", methods=["POST"])
def end_break_glass(case_id: str) -> Any:
    if not EmptyForm().validate_on_submit():
        abort(400)
    if not breakglass.end_break_glass(services(), member(), case_id):
        abort(404)
    flash("Break-glass has ended. You can no longer open that case.")
    return redirect(url_for("casework.my_cases"), code=303)
