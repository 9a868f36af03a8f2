"""The alert inbox, one alert's page (acknowledge, resolve), and the dead-letter list. Thin: ``inbox`` decides."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import SelectChoice

from casefeedback.alerts import inbox, rota
from casefeedback.alerts.forms import AbsenceForm, AcknowledgeForm, ResolveForm, RotaForm
from casefeedback.policy.decisions import CONTENT_ROLES
from casefeedback.services import services
from casefeedback.storage.engine import read

bp = Blueprint("alerts", __name__, url_prefix="/alerts")
# Who sees undeliverable notifications and alerts nobody acknowledged: the people
# who can fix an address or a mail server, and the people on duty.
DEAD_LETTER_ROLES = frozenset({"administrator", "duty_manager"})


@bp.before_request
def _roles() -> None:
    from flask import request

    if not current_user.is_authenticated:
        return  # the application's deny-by-default sends them to sign in
    role = current_user.member.role
    if request.endpoint == "alerts.undelivered":
        if role not in DEAD_LETTER_ROLES:
            abort(403)
    elif request.endpoint in ("alerts.rota_page", "alerts.absence"):
        if role not in rota.ROTA_ROLES:
            abort(403)
    elif role not in CONTENT_ROLES:
        abort(403)


@bp.app_context_processor
def _counts() -> dict[str, Any]:
    def open_alert_count() -> int:
        if not current_user.is_authenticated or current_user.member.role not in CONTENT_ROLES:
            return 0
        with read(services().engine) as connection:
            return inbox.open_count(connection, current_user.member.id)

    return {"open_alert_count": open_alert_count, "case_alerts": lambda case_id: inbox.for_case(services(), case_id)}


@bp.route("/", methods=["GET"])
def index() -> Any:
    return render_template("alerts/inbox.html", alerts=inbox.inbox(services(), current_user.member))


@bp.route("/a/<reference>", methods=["GET"])
def alert(reference: str) -> Any:
    return _page(reference, ResolveForm())


def _page(reference: str, form: ResolveForm, status: int = 200) -> Any:
    found = services()
    try:
        view = inbox.find(found, current_user.member, reference)
    except inbox.NoSuchAlert:
        abort(404)
    state, text = inbox.read_outcome(found, current_user.member, view)
    return render_template("alerts/alert.html", alert=view, form=form, ack_form=AcknowledgeForm(),
                           outcome_state=state, outcome_text=text), status


@bp.route("/a/<reference>/acknowledge", methods=["POST"])
def acknowledge(reference: str) -> Any:
    if not AcknowledgeForm().validate_on_submit():
        abort(400)
    try:
        changed = inbox.acknowledge(services(), current_user.member, reference)
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
        inbox.resolve(services(), current_user.member, reference, form.outcome.data or "")
    except inbox.NoSuchAlert:
        abort(404)
    except inbox.AlertError as error:
        form.outcome.errors = [str(error)]
        return _page(reference, form, 400)
    flash("The alert is resolved and the outcome has been recorded.")
    return redirect(url_for("alerts.alert", reference=reference), code=303)


@bp.route("/undelivered", methods=["GET"])
def undelivered() -> Any:
    notifications, stranded = inbox.undelivered(services())
    return render_template("alerts/undelivered.html", notifications=notifications, stranded=stranded)


@bp.route("/rota", methods=["GET", "POST"])
def rota_page() -> Any:
    return _rota(RotaForm(), AbsenceForm(prefix="absence"))


def _rota(form: RotaForm, absence: AbsenceForm, status: int = 200) -> Any:
    found = services()
    form.service.choices = _services(found)
    if form.validate_on_submit():
        try:
            rota.change_rota(found, current_user.member, form.service.data, (form.people.data or "").splitlines())
        except rota.RotaError as error:
            form.people.errors = [str(error)]
            status = 400
        else:
            flash("The duty rota has been saved.")
            return redirect(url_for("alerts.rota_page"), code=303)
    elif form.is_submitted():
        status = 400
    return render_template("alerts/rota.html", form=form, absence=absence, rotas=rota.rotas(found),
                           absent=rota.absentees(found)), status


@bp.route("/rota/absence", methods=["POST"])
def absence() -> Any:
    form, found = AbsenceForm(prefix="absence"), services()
    if form.validate_on_submit():
        try:
            rota.change_absence(found, current_user.member, form.username.data or "", form.absent.data == "absent")
        except rota.RotaError as error:
            form.username.errors = [str(error)]
        else:
            flash("Saved.")
            return redirect(url_for("alerts.rota_page"), code=303)
    rota_form = RotaForm(formdata=None)
    rota_form.service.choices = _services(found)
    return render_template("alerts/rota.html", form=rota_form, absence=form, rotas=rota.rotas(found),
                           absent=rota.absentees(found)), 400


def _services(found: Any) -> list[SelectChoice]:
    return [SelectChoice(p.id, p.name.get("en", p.id)) for p in found.policies.services.values()]
