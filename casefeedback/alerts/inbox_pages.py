"""The alert inbox, one alert's page (acknowledge, resolve), and the dead-letter list.

Thin: ``inbox`` acts, ``explaining`` builds the page, ``listing`` the list."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for

from casefeedback.alerts import explaining, inbox
from casefeedback.alerts.blueprint import bp, member
from casefeedback.alerts.forms import AcknowledgeForm, ResolveForm
from casefeedback.services import services


@bp.route("/", methods=["GET"])
def index() -> Any:
    return render_template("alerts/inbox.html", alerts=inbox.inbox(services(), member()))


@bp.route("/a/<reference>", methods=["GET"])
def alert(reference: str) -> Any:
    return _page(reference, ResolveForm())


def _page(reference: str, form: ResolveForm, status: int = 200) -> Any:
    try:
        page = explaining.alert_page(services(), member(), reference)
    except inbox.NoSuchAlert:
        abort(404)
    return render_template("alerts/alert.html", page=page, alert=page.alert, form=form,
                           ack_form=AcknowledgeForm()), status


@bp.route("/a/<reference>/acknowledge", methods=["POST"])
def acknowledge(reference: str) -> Any:
    if not AcknowledgeForm().validate_on_submit():
        abort(400)
    try:
        changed = inbox.acknowledge(services(), member(), reference)
    except inbox.NoSuchAlert:
        abort(404)
    flash("You have acknowledged the alert. It will not be escalated." if changed
          else "Someone had already acknowledged this alert.")
    return redirect(url_for("alerts.alert", reference=reference), code=303)


@bp.route("/a/<reference>/resolve", methods=["POST"])
def resolve(reference: str) -> Any:
    form = ResolveForm()
    if not form.validate_on_submit():
        return _page(reference, form, 400)
    try:
        inbox.resolve(services(), member(), reference, form.outcome.data or "")
    except inbox.NoSuchAlert:
        abort(404)
    except inbox.AlertError as error:
        form.outcome.errors = [str(error)]
        return _page(reference, form, 400)
    flash("The alert is resolved. What you did has been recorded.")
    return redirect(url_for("alerts.alert", reference=reference), code=303)


@bp.route("/undelivered", methods=["GET"])
def undelivered() -> Any:
    notifications, stranded = inbox.undelivered(services())
    return render_template("alerts/undelivered.html", notifications=notifications, stranded=stranded)
