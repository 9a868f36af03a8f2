"""Administrator views: thin; ``auth.accounts`` and ``casework.cases`` own the changes.

Only administrators reach this blueprint (403 for everyone else), and every
page asks them to have confirmed who they are recently: handing out an account
is how a thief with a stolen session would get in for good.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import SelectChoice

from casefeedback.admin.forms import EmptyForm, MoveCasesForm, NewStaffForm, ResetForm, StaffUpdateForm, TeamForm
from casefeedback.audit import AuditEvent
from casefeedback.auth import accounts
from casefeedback.auth.confirmation import confirmation_required
from casefeedback.casework.cases import CaseError, case_counts_by_owner, move_cases
from casefeedback.services import services
from casefeedback.storage.engine import read, write

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _administrators_only() -> None:
    if current_user.is_authenticated and current_user.member.role != "administrator":
        abort(403)


def _audit(connection: Any, action: str, staff_id: str | None = None, **detail: str | int | bool | None) -> None:
    member = current_user.member
    services().audit.append(connection, AuditEvent(
        action=action, outcome="success", actor_id=member.id, actor_role=member.role,
        object_type="staff" if staff_id else None, object_id=staff_id, detail=detail))


def _team_choices(connection: Any) -> list[SelectChoice]:
    return [SelectChoice("", "No team")] + [SelectChoice(t.id, t.name) for t in accounts.list_teams(connection)]


@bp.route("/", methods=["GET"])
@confirmation_required()
def index() -> Any:
    found = services()
    with read(found.engine) as connection:
        people = accounts.list_staff(connection)
        teams = accounts.list_teams(connection)
        open_cases = case_counts_by_owner(connection)
    return render_template("admin/index.html", people=people, teams=teams, open_cases=open_cases,
                           team_form=TeamForm(formdata=None), roles=accounts.ROLE_NAMES)


@bp.route("/teams", methods=["POST"])
@confirmation_required(back="admin.index")
def add_team() -> Any:
    found = services()
    form = TeamForm()
    if form.validate_on_submit():
        try:
            with write(found.engine) as connection:
                team_id = accounts.add_team(connection, form.name.data)
                _audit(connection, "team.add", team=team_id)
        except accounts.AccountError as error:
            form.name.errors.append(str(error))
        else:
            flash(f"The team {form.name.data.strip()} has been added.")
            return redirect(url_for("admin.index"), code=303)
    with read(found.engine) as connection:
        page = {"people": accounts.list_staff(connection), "teams": accounts.list_teams(connection),
                "open_cases": case_counts_by_owner(connection)}
    return render_template("admin/index.html", team_form=form, roles=accounts.ROLE_NAMES, **page), 400


@bp.route("/staff/new", methods=["GET", "POST"])
@confirmation_required(back="admin.new_staff")
def new_staff() -> Any:
    found = services()
    form = NewStaffForm()
    with read(found.engine) as connection:
        form.team.choices = _team_choices(connection)
    if not form.validate_on_submit():
        return render_template("admin/new_staff.html", form=form), (400 if form.errors else 200)
    password = accounts.temporary_password()
    try:
        with write(found.engine) as connection:
            staff_id = accounts.add_staff(connection, username=form.username.data, display_name=form.display_name.data,
                                          role=form.role.data, password=password, now=found.clock(),
                                          team_id=form.team.data or None)
            _audit(connection, "staff.add", staff_id, role=form.role.data)
    except accounts.AccountError as error:
        form.username.errors.append(str(error))
        return render_template("admin/new_staff.html", form=form), 409
    # The temporary password is in this response only; the person sets up their app at first sign-in.
    return render_template("admin/password_once.html", username=form.username.data, password=password,
                           staff_id=staff_id, added=True)


def _person_or_404(connection: Any, staff_id: str) -> Any:
    person = accounts.find_by_id(connection, staff_id)
    if person is None:
        abort(404)
    return person


def _person_page(staff_id: str, status: int = 200, **forms: Any) -> Any:
    found = services()
    with read(found.engine) as connection:
        person = _person_or_404(connection, staff_id)
        listing = next(p for p in accounts.list_staff(connection) if p.id == staff_id)
        teams = _team_choices(connection)
        colleagues = [p for p in accounts.list_staff(connection)
                      if p.enabled and p.role in ("caseworker", "supervisor") and p.id != staff_id]
        open_cases = case_counts_by_owner(connection).get(staff_id, 0)
    update = forms.get("update") or StaffUpdateForm(formdata=None, role=person.role, team=person.team_id or "")
    update.team.choices = teams
    move = forms.get("move") or MoveCasesForm(formdata=None)
    move.to.choices = [SelectChoice(p.id, f"{p.display_name} ({p.team_name or 'no team'})") for p in colleagues]
    return render_template("admin/staff.html", person=listing, update_form=update, move_form=move,
                           reset_form=forms.get("reset") or ResetForm(formdata=None), form=EmptyForm(),
                           open_cases=open_cases, roles=accounts.ROLE_NAMES,
                           is_self=staff_id == current_user.member.id), status


@bp.route("/staff/<staff_id>", methods=["GET"])
@confirmation_required()
def staff_member(staff_id: str) -> Any:
    return _person_page(staff_id)


def _not_self(staff_id: str) -> None:
    # An administrator cannot lock themselves out, nor change their own powers.
    if staff_id == current_user.member.id:
        abort(403)


@bp.route("/staff/<staff_id>/update", methods=["POST"])
@confirmation_required(back="admin.staff_member")
def update_staff(staff_id: str) -> Any:
    _not_self(staff_id)
    found = services()
    form = StaffUpdateForm()
    with write(found.engine) as connection:
        person = _person_or_404(connection, staff_id)
        form.team.choices = _team_choices(connection)
        if form.validate_on_submit():
            accounts.set_role(connection, staff_id, form.role.data)
            accounts.set_team(connection, staff_id, form.team.data or None)
            _audit(connection, "staff.update", staff_id, role=form.role.data, previous_role=person.role,
                   team=form.team.data or None, previous_team=person.team_id)
    if form.errors:
        return _person_page(staff_id, 400, update=form)
    flash("Saved. The change applies from their next click.")
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
    _not_self(staff_id)
    found = services()
    if not EmptyForm().validate_on_submit():
        abort(400)
    with write(found.engine) as connection:
        _person_or_404(connection, staff_id)
        if enabled:
            accounts.enable(connection, staff_id)
        else:
            accounts.disable(connection, staff_id)  # ends every session at once
        _audit(connection, "staff.enable" if enabled else "staff.disable", staff_id)
    flash("The account can sign in again." if enabled else "The account is disabled and signed out everywhere.")
    return redirect(url_for("admin.staff_member", staff_id=staff_id), code=303)


@bp.route("/staff/<staff_id>/reset", methods=["POST"])
@confirmation_required(back="admin.staff_member")
def reset_staff(staff_id: str) -> Any:
    _not_self(staff_id)
    found = services()
    form = ResetForm()
    if not form.validate_on_submit() or not (form.password.data or form.second_factor.data):
        form.form_errors.append("Choose what to reset.")
        return _person_page(staff_id, 400, reset=form)
    password = accounts.temporary_password() if form.password.data else None
    with write(found.engine) as connection:
        person = _person_or_404(connection, staff_id)
        accounts.reset(connection, staff_id, found.clock(), password=password,
                       second_factor=bool(form.second_factor.data))
        _audit(connection, "staff.reset", staff_id, password=password is not None,
               second_factor=bool(form.second_factor.data))
    if password is None:
        flash("They will set up their authenticator app again when they next sign in. They have been signed out.")
        return redirect(url_for("admin.staff_member", staff_id=staff_id), code=303)
    return render_template("admin/password_once.html", username=person.username, password=password,
                           staff_id=staff_id, added=False)


@bp.route("/staff/<staff_id>/move-cases", methods=["POST"])
@confirmation_required(back="admin.staff_member")
def move_staff_cases(staff_id: str) -> Any:
    found = services()
    form = MoveCasesForm()
    with read(found.engine) as connection:
        _person_or_404(connection, staff_id)
        form.to.choices = [SelectChoice(p.id, p.display_name) for p in accounts.list_staff(connection)]
    if not form.validate_on_submit():
        return _person_page(staff_id, 400, move=form)
    try:
        with write(found.engine) as connection:
            moved, left = move_cases(connection, staff_id, form.to.data)
            _audit(connection, "cases.move", staff_id, to=form.to.data, moved=moved, left=left)
    except CaseError as error:
        form.to.errors.append(str(error))
        return _person_page(staff_id, 400, move=form)
    flash(f"{moved} open case{'s' if moved != 1 else ''} moved."
          + (f" {left} stayed: they belong to a team the new caseworker is not in." if left else ""))
    return redirect(url_for("admin.staff_member", staff_id=staff_id), code=303)
