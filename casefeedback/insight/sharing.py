"""Exporting a scope's figures for a partner agency: signed, so they can check it; audited, so we can."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request
from flask_login import current_user

from casefeedback.insight import service
from casefeedback.insight.blueprint import bp, filter_args, refused_page
from casefeedback.services import services


@bp.route("/export", methods=["POST"])
def export() -> Any:
    try:
        signed = service.signed_export(services(), current_user.member, filter_args(request.form))
    except service.NoSigningKey:
        return render_template("errors/error.html", status=409, title="Exports cannot be signed yet",
                               message="This instance has no insight signing key. Ask your administrator "
                                       "to run `casefeedback init`, which adds it."), 409
    except service.ScopeRefused as refused:
        return refused_page(refused)
    return Response(signed.body, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{signed.filename}"'})
