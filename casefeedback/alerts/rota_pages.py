"""The dated duty rota: who is on duty now and next per service, and absences. Thin: ``rota`` decides."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for

from casefeedback.alerts import rota
from casefeedback.alerts.blueprint import bp, member
from casefeedback.alerts.rota_forms import AbsenceForm, ShiftForm
from casefeedback.services import services


@bp.route("/rota", methods=["GET", "POST"])
def rota_page() -> Any:
    form = ShiftForm()
    if form.validate_on_submit():
        try:
            rota.add_duty(services(), member(), service_id=form.service.data, staff_id=form.person.data,
                          starts=form.starts.data, ends=form.ends.data)
        except rota.RotaError as error:
            return _page(form, AbsenceForm(prefix="absence", formdata=None), 400, error.errors)
        flash("The shift has been added to the rota.")
        return redirect(url_for("alerts.rota_page"), code=303)
    return _page(form, AbsenceForm(prefix="absence", formdata=None), 400 if form.is_submitted() else 200)


@bp.route("/rota/shift/<shift_id>/remove", methods=["POST"])
def remove_shift(shift_id: str) -> Any:
    # The button's CSRF token is checked app-wide (CSRFProtect) before this runs.
    try:
        rota.remove_duty(services(), member(), shift_id)
    except rota.RotaError as error:
        return _page(ShiftForm(formdata=None), AbsenceForm(prefix="absence", formdata=None), 400, error.errors)
    flash("The shift has been removed from the rota.")
    return redirect(url_for("alerts.rota_page"), code=303)


@bp.route("/rota/absence", methods=["POST"])
def absence() -> Any:
    form = AbsenceForm(prefix="absence")
    if form.validate_on_submit():
        try:
            rota.record_absence(services(), member(), staff_id=form.person.data, starts=form.starts.data,
                                ends=form.ends.data)
        except rota.RotaError as error:
            return _page(ShiftForm(formdata=None), form, 400, error.errors)
        flash("The absence has been recorded.")
        return redirect(url_for("alerts.rota_page"), code=303)
    return _page(ShiftForm(formdata=None), form, 400)


@bp.route("/rota/absence/<absence_id>/remove", methods=["POST"])
def remove_absence(absence_id: str) -> Any:
    try:
        rota.remove_absence(services(), member(), absence_id)
    except rota.RotaError as error:
        return _page(ShiftForm(formdata=None), AbsenceForm(prefix="absence", formdata=None), 400, error.errors)
    flash("The absence has been removed.")
    return redirect(url_for("alerts.rota_page"), code=303)


def _page(form: ShiftForm, absence_form: AbsenceForm, status: int,
          refused: list[tuple[str, str]] | None = None) -> Any:
    """The rota page; ``refused``: what ``rota`` would not accept, beside the forms' own errors."""
    found = services()
    shown = rota.board(found)
    for each in (form, absence_form):
        each.person.choices = [("", "Choose a person"), *shown.people]
    form.service.choices = [(s.service_id, s.name) for s in shown.services]
    errors = _errors(form, absence_form, refused or [])
    return render_template("alerts/rota.html", form=form, absence=absence_form, board=shown,
                           errors=errors), status


def _errors(form: ShiftForm, absence_form: AbsenceForm, refused: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(field id, message) for the error summary, the forms' first, each also shown at its field."""
    found: list[tuple[str, str]] = []
    for each in (form, absence_form):
        for field in each:
            found.extend((field.id, str(message)) for message in field.errors)
    fields = {field.id: field for each in (form, absence_form) for field in each}
    for field_id, message in refused:
        if field_id in fields:
            fields[field_id].errors = [*fields[field_id].errors, message]
        found.append((field_id if field_id in fields else "rota-title", message))
    return found

