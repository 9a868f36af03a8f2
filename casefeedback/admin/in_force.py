"""The instance's keys and policy versions in force: a read-only page; changes are made at the command line."""

from __future__ import annotations

from typing import Any

from flask import render_template

from casefeedback.admin.blueprint import bp
from casefeedback.admin.system import COMMANDS, overview
from casefeedback.auth.confirmation import confirmation_required
from casefeedback.services import services


@bp.route("/system", methods=["GET"])
@confirmation_required()
def system() -> Any:
    return render_template("admin/system.html", shown=overview(services()), commands=COMMANDS)
