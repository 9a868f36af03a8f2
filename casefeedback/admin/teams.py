"""Teams: adding one from the accounts page."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for

from casefeedback.admin import staffing
from casefeedback.admin.blueprint import bp, index_page, operator
from casefeedback.admin.forms import TeamForm
from casefeedback.auth.accounts import AccountError
from casefeedback.auth.confirmation import confirmation_required
from casefeedback.services import services


@bp.route("/teams", methods=["POST"])
@confirmation_required(back="admin.index")
def add_team() -> Any:
    form = TeamForm()
    if form.validate_on_submit():
        try:
            staffing.add_team(services(), operator(), form.name.data)
        except AccountError as error:
            form.name.errors.append(str(error))
        else:
            flash(f"The team {form.name.data.strip()} has been added.")
            return redirect(url_for("admin.index"), code=303)
    return index_page(form, 400)
