"""The insight overview: a scope's figures as charts, each with its table."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import current_user

from casefeedback.insight import charts, hidden, service
from casefeedback.insight.blueprint import EXPORT_ENDPOINT, bp, filter_args, refused_page
from casefeedback.policy.pages import may_open
from casefeedback.services import services


@bp.route("/", methods=["GET"])
def overview() -> Any:
    try:
        shown = service.figures(services(), filter_args(request.args))
    except service.ScopeRefused as refused:
        return refused_page(refused)
    scope = shown.report.scope
    return render_template("insight/overview.html", report=shown.report, error=None, choices=shown.choices,
                           channels=shown.channels,
                           charts=charts, hidden=hidden, args={"service": scope.service_id, "team": scope.team_id or "",
                                                "from": scope.first_month, "to": scope.last_month},
                           can_export=may_open(current_user.member.role, EXPORT_ENDPOINT))
