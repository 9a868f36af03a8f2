"""The auditor's view (/audit): search the log, a case's access history, flags, signed exports.

Only for the auditor role. Auditors see audit rows and nothing else: no view
here opens a field. Exports are themselves audited, and each carries the
signed checkpoint that covers it.
"""

from __future__ import annotations

import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask.blueprints import BlueprintSetupState
from flask_login import current_user

from casefeedback.audit import AuditEvent
from casefeedback.audit.checkpoints import Signer, covering_checkpoint, write_checkpoint
from casefeedback.audit.review import FLAGS, PAGE, Filters, export_archive, export_rows, history, search
from casefeedback.backup.lock import hold_running, release
from casefeedback.services import services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import audit_head

bp = Blueprint("auditor", __name__, url_prefix="/audit")
AUDITOR_ROLE = "auditor"
FILTER_ARGS = ("staff", "case", "action", "since", "until", "flagged")


@bp.record_once
def _hold_running_lock(state: BlueprintSetupState) -> None:
    # Every web process holds the instance's running lock for as long as its app
    # lives, so `casefeedback restore` and `keys rekey-db` refuse to run under it.
    found = state.app.extensions["casefeedback"]
    fd = hold_running(found.config.instance_dir)
    weakref.finalize(state.app, release, fd)


@bp.before_request
def _auditors_only() -> None:
    if not current_user.is_authenticated or current_user.member.role != AUDITOR_ROLE:
        abort(403)


def _day(name: str) -> datetime | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        abort(400)


def _filters() -> Filters:
    until = _day("until")
    return Filters(staff=request.args.get("staff", "").strip()[:64] or None,
                   case_id=request.args.get("case", "").strip()[:36] or None,
                   action=request.args.get("action", "").strip()[:64] or None,
                   since=_day("since"), until=until + timedelta(days=1) if until else None,
                   flagged_only=request.args.get("flagged") == "1")


@bp.route("/", methods=["GET"])
def search_view() -> Any:
    filters = _filters()
    before = request.args.get("before", type=int)
    found = services()
    with read(found.engine) as connection:
        rows = search(connection, filters, before_seq=before)
    older = rows[-1].seq if len(rows) == PAGE else None
    query = {k: request.args[k] for k in FILTER_ARGS if request.args.get(k)}
    return render_template("audit/search.html", rows=rows, filters=filters, args=query, flags=FLAGS,
                           older=older)


@bp.route("/cases/<case_id>", methods=["GET"])
def case_view(case_id: str) -> Any:
    found = services()
    with write(found.engine) as connection:
        rows = history(connection, case_id[:36])
        found.audit.append(connection, AuditEvent(
            action="audit.case_history", outcome="viewed", actor_id=current_user.member.id,
            actor_role=current_user.member.role, object_type="case", object_id=case_id[:36],
            detail={"events": len(rows)}))
    return render_template("audit/case.html", rows=rows, case_id=case_id[:36], flags=FLAGS)


@bp.route("/export", methods=["GET"])
def export_view() -> Any:
    kind = request.args.get("format", "csv")
    if kind not in ("csv", "jsonl"):
        abort(400)
    filters = _filters()
    found = services()
    with write(found.engine) as connection:
        head = connection.execute(audit_head.select()).first()
        if head is None:
            abort(404)
        checkpoint = covering_checkpoint(connection, head.seq) or write_checkpoint(
            connection, found.audit, Signer(found.config.secrets.audit_signing.value))
        if checkpoint is None:
            abort(404)
        rows = export_rows(connection, filters, checkpoint.seq)
        found.audit.append(connection, AuditEvent(
            action="audit.export", outcome="success", actor_id=current_user.member.id,
            actor_role=current_user.member.role, object_type="checkpoint", object_id=str(checkpoint.seq),
            detail={"format": kind, "events": len(rows), "filters": filters.describe()[:200]}))
    now = found.clock()
    body = export_archive(rows, kind, checkpoint, filters, now)
    name = f"casefeedback-audit-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{kind}.zip"
    current_app.logger.info("audit export of %d events", len(rows))
    return Response(body, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
