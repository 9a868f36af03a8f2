"""Staff accounts: the list, adding one, and one person's page with its changes: role, team, email, access, reset."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for

from casefeedback.admin import staffing
from casefeedback.admin.blueprint import bp, index_page, not_self, operator, person_or_404, person_page, team_choices
from casefeedback.admin.forms import EmailForm, EmptyForm, NewStaffForm, ResetForm, StaffUpdateForm, TeamForm
from casefeedback.auth import accounts
from casefeedback.auth.accounts import AccountError
from casefeedback.auth.confirmation import confirmation_required
from casefeedback.services import services


@bp.route("/", methods=["GET"])
@confirmation_required()
def index() -> Any:
    return index_page(TeamForm(formdata=None))


@bp.route("/staff/new", methods=["GET", "POST"])
@confirmation_required(back="admin.new_staff")
def new_staff() -> Any:
    found = services()
    form = NewStaffForm()
    form.team.choices = team_choices(staffing.teams(found))
    if not form.validate_on_submit():
        return render_template("admin/new_staff.html", form=form), (400 if form.errors else 200)
    password = accounts.temporary_password()
    try:
        staff_id = staffing.add_staff(found, operator(), username=form.username.data,
                                      display_name=form.display_name.data, role=form.role.data,
                                      password=password, team_id=form.team.data or None, email=form.email.data)
    except AccountError as error:
        form.username.errors.append(str(error))
        return render_template("admin/new_staff.html", form=form), 409
    # The temporary password is in this response only; the person sets up their app at first sign-in.
    return render_template("admin/password_once.html", username=form.username.data, password=password,
                           staff_id=staff_id, added=True)


@bp.route("/staff/<staff_id>", methods=["GET"])
@confirmation_required()
def staff_member(staff_id: str) -> Any:
    return person_page(staff_id)


@bp.route("/staff/<staff_id>/update", methods=["POST"])
@confirmation_required(back="admin.staff_member")
def update_staff(staff_id: str) -> Any:
    not_self(staff_id)
    form = StaffUpdateForm()
    form.team.choices = team_choices(person_or_404(staff_id).teams)
    if not form.validate_on_submit():
        return person_page(staff_id, 400, update=form)
    staffing.update(services(), operator(), staff_id, role=form.role.data, team_id=form.team.data or None)
    flash("Saved. The change applies from their next click.")
    return redirect(url_for("admin.staff_member", staff_id=staff_id), code=303)


@bp.route("/staff/<staff_id>/email", methods=["POST"])
@confirmation_required(back="admin.staff_member")
def set_staff_email(staff_id: str) -> Any:
    not_self(staff_id)
    form = EmailForm()
    if not form.validate_on_submit():
        return person_page(staff_id, 400, email=form)
    try:
        change = staffing.set_email(services(), operator(), staff_id, form.email.data)
    except staffing.NoSuchAccount:
        abort(404)
    flash({None: "Nothing changed.", "added": "Saved. Their alerts are now emailed too.",
           "removed": "Saved. Their alerts are no longer emailed; the old address is told, if email is set up.",
           "changed": "Saved. The old address is told of the change, if email is set up."}[change])
    return redirect(url_for("admin.staff_member", staff_id=staff_id), code=303)


@bp.route("/staff/<staff_id>/disable", methods=["POST"])
@confirmation_required(back="admin.staff_member")
def disable_staff(staff_id: str) -> Any:
    return _set_enabled(staff_id, False)


@bp.route("/staff/<staff_id>/enable", methods=["POST"])
@confirmation_required(back="admin.staff_member")
def enable_staff(staff_id: str) -> Any:
    return _set_enabled(staff_id, True)


def _set_enabled(staff_id: str, enabled: bool) -> Any:
    not_self(staff_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        staffing.set_enabled(services(), operator(), staff_id, enabled)  # disabling ends every session at once
    except staffing.NoSuchAccount:
        abort(404)
    flash("The account can sign in again." if enabled else "The account is disabled and signed out everywhere.")
    return redirect(url_for("admin.staff_member", staff_id=staff_id), code=303)


@bp.route("/staff/<staff_id>/reset", methods=["POST"])
@confirmation_required(back="admin.staff_member")
def reset_staff(staff_id: str) -> Any:
    not_self(staff_id)
    form = ResetForm()
    if not form.validate_on_submit() or not (form.password.data or form.second_factor.data):
        form.form_errors.append("Choose what to reset.")
        return person_page(staff_id, 400, reset=form)
    password = accounts.temporary_password() if form.password.data else None
    try:
        username = staffing.reset(services(), operator(), staff_id, password=password,
                                  second_factor=bool(form.second_factor.data))
    except staffing.NoSuchAccount:
        abort(404)
    if password is None:
        flash("They will set up their authenticator app again when they next sign in. They have been signed out.")
        return redirect(url_for("admin.staff_member", staff_id=staff_id), code=303)
    return render_template("admin/password_once.html", username=username, password=password,
                           staff_id=staff_id, added=False)
