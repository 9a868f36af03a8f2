"""Break-glass and staff notifications. Registered on the casework blueprint."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from casefeedback.auth import signin, throttle
from casefeedback.casework import breakglass
from casefeedback.casework.forms import BreakGlassForm, EmptyForm
from casefeedback.casework.notifications import mark_all_read, notices_for
from casefeedback.casework.views import bp
from casefeedback.policy.decisions import BREAK_GLASS_ROLES
from casefeedback.ratelimit import limiter
from casefeedback.services import services
from casefeedback.storage.engine import read, write


def _page(form: BreakGlassForm, status: int = 200) -> Any:
    rules = services().policies.organisation.break_glass
    minutes = int(rules.lasts.total_seconds() // 60)
    return render_template("casework/break_glass.html", form=form, minutes=minutes), status


@bp.route("/break-glass", methods=["GET", "POST"])
@limiter.limit("20 per minute;200 per hour", methods=["POST"])
def break_glass() -> Any:
    member = current_user.member
    if member.role not in BREAK_GLASS_ROLES:
        abort(403)
    found = services()
    form = BreakGlassForm()
    if not form.validate_on_submit():
        return _page(form, 400 if form.errors else 200)
    try:
        with read(found.engine) as connection:
            breakglass.check(connection, member, form.case.data, form.reason.data)
    except breakglass.Refused as refused:
        form.form_errors.append(str(refused))
        return _page(form, refused.status)
    step = signin.confirm_identity(found, member, current_user.token, form.password.data, form.code.data,
                                   purpose="break_glass")
    if step.outcome != "ok":
        if step.outcome == "locked" and step.locked_until is not None:
            minutes = throttle.minutes_left(step.locked_until, found.clock())
            form.form_errors.append(f"There have been too many attempts. Wait {minutes} minute"
                                    f"{'s' if minutes != 1 else ''}, then try again.")
            return _page(form, 429)
        form.code.errors.append("The password or the code is not right. Nothing has been opened.")
        return _page(form, 401)
    try:
        with write(found.engine) as connection:
            case = breakglass.check(connection, member, form.case.data, form.reason.data)
            opened = breakglass.open_break_glass(found, connection, member, case, form.reason.data)
    except breakglass.Refused as refused:  # the case changed while they confirmed who they are
        form.form_errors.append(str(refused))
        return _page(form, refused.status)
    if opened.new:
        flash(f"Break-glass is open until {opened.expires_at:%H:%M} UTC. Everything you open is recorded and "
              "flagged, and the case team's supervisor has been told.")
    else:
        flash(f"You already have break-glass on this case until {opened.expires_at:%H:%M} UTC. Nothing new was "
              "opened.")
    return redirect(url_for("casework.case", case_id=opened.case_id), code=303)


@bp.route("/cases/<case_id>/break-glass/end", methods=["POST"])
def end_break_glass(case_id: str) -> Any:
    found = services()
    if not EmptyForm().validate_on_submit():
        abort(400)
    with write(found.engine) as connection:
        ended = breakglass.end_break_glass(found, connection, current_user.member, case_id)
    if not ended:
        abort(404)
    flash("Break-glass has ended. You can no longer open that case.")
    return redirect(url_for("casework.my_cases"), code=303)


@bp.route("/notifications", methods=["GET"])
def notifications() -> Any:
    found = services()
    with read(found.engine) as connection:
        notices = notices_for(connection, current_user.member.id)
    return render_template("casework/notifications.html", notices=notices, form=EmptyForm())


@bp.route("/notifications/read", methods=["POST"])
def notifications_read() -> Any:
    found = services()
    if not EmptyForm().validate_on_submit():
        abort(400)
    with write(found.engine) as connection:
        mark_all_read(connection, current_user.member.id, found.clock())
    return redirect(url_for("casework.notifications"), code=303)
