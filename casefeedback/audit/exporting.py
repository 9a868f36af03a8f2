"""Signed exports of the log, as evidence that can be checked without trusting this instance."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, request
from flask_login import current_user

from casefeedback.audit.blueprint import bp, filters
from casefeedback.audit.evidence import FORMATS, NothingToExport, export_log
from casefeedback.audit.watch import WitnessRefused
from casefeedback.services import services


@bp.route("/export", methods=["GET"])
def export_view() -> Any:
    kind = request.args.get("format", "csv")
    if kind not in FORMATS:
        abort(400)
    try:
        evidence = export_log(services(), current_user.member, filters(), kind)
    except NothingToExport:
        abort(404)
    except WitnessRefused:
        # The log no longer holds what its witness recorded: evidence signed now
        # would vouch for the cut. The worker has already raised the alarm.
        abort(409)
    current_app.logger.info("audit export of %d events", evidence.events)
    return Response(evidence.body, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{evidence.filename}"'})
