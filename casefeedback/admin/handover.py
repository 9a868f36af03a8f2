"""Handing a person's open cases to a colleague (a leaver, a long absence): counts only, never a reference."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for
from wtforms import SelectChoice

from casefeedback.admin import staffing
from casefeedback.admin.blueprint import bp, operator, person_or_404, person_page
from casefeedback.admin.forms import MoveCasesForm
from casefeedback.auth.confirmation import confirmation_required
from casefeedback.casework.cases import CaseError
from casefeedback.services import services


@bp.route("/staff/<staff_id>/move-cases", methods=["POST"])
@confirmation_required(back="admin.staff_member")
def move_staff_cases(staff_id: str) -> Any:
    form = MoveCasesForm()
    form.to.choices = [SelectChoice(p.id, p.display_name) for p in person_or_404(staff_id).everyone]
    if not form.validate_on_submit():
        return person_page(staff_id, 400, move=form)
    try:
        moved, left = staffing.move_cases(services(), operator(), staff_id, form.to.data)
    except CaseError as error:
        form.to.errors.append(str(error))
        return person_page(staff_id, 400, move=form)
    flash(f"{moved} open case{'s' if moved != 1 else ''} moved."
          + (f" {left} stayed: they belong to a team the new caseworker is not in." if left else ""))
    return redirect(url_for("admin.staff_member", staff_id=staff_id), code=303)
