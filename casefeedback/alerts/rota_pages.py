"""The duty rota per service, and marking people absent so alerts skip them. Thin: ``rota`` decides."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for

from casefeedback.alerts import rota
from casefeedback.alerts.blueprint import bp, member, service_choices
from casefeedback.alerts.forms import AbsenceForm, RotaForm
from casefeedback.services import services


@bp.route("/rota", methods=["GET", "POST"])
def rota_page() -> Any:
    form, absence_form, status = RotaForm(), AbsenceForm(prefix="absence"), 200
    form.service.choices = service_choices()
    if form.validate_on_submit():
        try:
            rota.change_rota(services(), member(), form.service.data, (form.people.data or "").splitlines())
        except rota.RotaError as error:
            form.people.errors = [str(error)]
            status = 400
        else:
            flash("The duty rota has been saved.")
            return redirect(url_for("alerts.rota_page"), code=303)
    elif form.is_submitted():
        status = 400
    return _rota(form, absence_form, status)


@bp.route("/rota/absence", methods=["POST"])
def absence() -> Any:
    form = AbsenceForm(prefix="absence")
    if form.validate_on_submit():
        try:
            rota.change_absence(services(), member(), form.username.data or "", form.absent.data == "absent")
        except rota.RotaError as error:
            form.username.errors = [str(error)]
        else:
            flash("Saved.")
            return redirect(url_for("alerts.rota_page"), code=303)
    rota_form = RotaForm(formdata=None)
    rota_form.service.choices = service_choices()
    return _rota(rota_form, form, 400)


def _rota(form: RotaForm, absence_form: AbsenceForm, status: int) -> Any:
    found = services()
    return render_template("alerts/rota.html", form=form, absence=absence_form, rotas=rota.rotas(found),
                           absent=rota.absentees(found)), status
