"""The member's own desk: their cases (and a new one), the alerts they were told of, their notifications."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from casefeedback.alerts.inbox import inbox
from casefeedback.casework import service
from casefeedback.casework.blueprint import bp, member, service_choices
from casefeedback.casework.cases import CaseError
from casefeedback.casework.forms import EmptyForm, NewCaseForm
from casefeedback.casework.notifications import mark_all_read, notices_for
from casefeedback.services import services


@bp.route("/", methods=["GET", "POST"])
def my_cases() -> Any:
    form = NewCaseForm()
    form.service.choices = service_choices()
    status = 200
    if form.validate_on_submit():
        try:
            case_id = service.open_case(services(), member(), service_id=form.service.data,
                                        reference=form.reference.data.strip())
        except CaseError as error:
            form.reference.errors.append(str(error))
            status = 409
        else:
            flash("The case has been created.")
            return redirect(url_for("casework.case", case_id=case_id), code=303)
    elif form.errors:
        status = 400
    shown = "closed" if request.args.get("status") == "closed" else "open"
    every = service.workspace(services(), member())
    counts = {state: sum(1 for c in every if c.status == state) for state in ("open", "closed")}
    return render_template("casework/cases.html", cases=[c for c in every if c.status == shown], shown=shown,
                           counts=counts, form=form), status


@bp.route("/alerts", methods=["GET"])
def alerts() -> Any:
    """The alert inbox, at hand in the workspace (the same page as ``alerts.index``)."""
    return render_template("alerts/inbox.html", alerts=inbox(services(), member()))


@bp.route("/notifications", methods=["GET"])
def notifications() -> Any:
    return render_template("casework/notifications.html", notices=notices_for(services(), member().id),
                           form=EmptyForm())


@bp.route("/notifications/read", methods=["POST"])
def notifications_read() -> Any:
    if not EmptyForm().validate_on_submit():
        abort(400)
    mark_all_read(services(), member().id)
    return redirect(url_for("casework.notifications"), code=303)
