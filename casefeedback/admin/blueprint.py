"""The administrator's blueprint (/admin) and what its views share: the pages they fall back to on a mistake.

Only administrators reach it (``policy.pages``), and every page asks them to
have confirmed who they are recently: handing out an account is how a thief
with a stolen session would get in for good.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint, abort, render_template
from flask_login import current_user
from wtforms import SelectChoice

from casefeedback.admin import staffing
from casefeedback.admin.forms import EmailForm, EmptyForm, MoveCasesForm, ResetForm, StaffUpdateForm, TeamForm
from casefeedback.admin.staffing import NoSuchAccount, Operator, Person
from casefeedback.auth.accounts import Team
from casefeedback.policy.pages import role_gate
from casefeedback.policy.roles import ROLE_NAMES
from casefeedback.services import services

bp = Blueprint("admin", __name__, url_prefix="/admin")
role_gate(bp)


def operator() -> Operator:
    return Operator.of(current_user.member)


def not_self(staff_id: str) -> None:
    # An administrator cannot lock themselves out, nor change their own powers.
    if staff_id == current_user.member.id:
        abort(403)


def person_or_404(staff_id: str) -> Person:
    try:
        return staffing.person(services(), staff_id)
    except NoSuchAccount:
        abort(404)


def team_choices(teams: Iterable[Team]) -> list[SelectChoice]:
    return [SelectChoice("", "No team")] + [SelectChoice(t.id, t.name) for t in teams]


def index_page(team_form: TeamForm, status: int = 200) -> Any:
    shown = staffing.overview(services())
    return render_template("admin/index.html", people=shown.people, teams=shown.teams, open_cases=shown.open_cases,
                           team_form=team_form, roles=ROLE_NAMES), status


def person_page(staff_id: str, status: int = 200, **forms: Any) -> Any:
    """One account's page; ``forms``: a form sent back with its errors (``update``, ``email``, ``move``, ``reset``)."""
    person = person_or_404(staff_id)
    listing = person.listing
    update = forms.get("update") or StaffUpdateForm(formdata=None, role=listing.role, team=listing.team_id or "")
    update.team.choices = team_choices(person.teams)
    email = forms.get("email") or EmailForm(formdata=None, email=person.email or "")
    move = forms.get("move") or MoveCasesForm(formdata=None)
    move.to.choices = [SelectChoice(p.id, f"{p.display_name} ({p.team_name or 'no team'})")
                       for p in person.colleagues]
    return render_template("admin/staff.html", person=listing, email=person.email, update_form=update,
                           email_form=email, move_form=move,
                           reset_form=forms.get("reset") or ResetForm(formdata=None), form=EmptyForm(),
                           open_cases=person.open_cases, roles=ROLE_NAMES,
                           is_self=staff_id == current_user.member.id), status
