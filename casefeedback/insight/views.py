"""The insight pages (/insight): de-identified, suppressed figures, charts with tables, signed exports.

Who: analysts, and supervisors and duty managers (who run services and are the
managers the figures are for). All three see only suppressed aggregates; no
view here opens a field or reads an answer. Sharing an export outside the
organisation is an analyst's job only, and every export is audited.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from sqlalchemy import Connection, select

from casefeedback.audit import AuditEvent
from casefeedback.audit.checkpoints import instance_id
from casefeedback.insight import charts, monthly
from casefeedback.insight.export import build_bundle
from casefeedback.insight.filters import Choices, FilterError, months_between, parse
from casefeedback.insight.report import build
from casefeedback.services import Services, services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import teams

bp = Blueprint("insight", __name__, url_prefix="/insight")
VIEW_ROLES = frozenset({"analyst", "supervisor", "duty_manager"})
EXPORT_ROLES = frozenset({"analyst"})
FILTER_ARGS = ("service", "team", "from", "to")


@bp.before_request
def _managers_and_analysts_only() -> None:
    if not current_user.is_authenticated or current_user.member.role not in VIEW_ROLES:
        abort(403)


def _choices(found: Services, connection: Connection) -> Choices:
    return Choices(services={sid: p.name.get("en", sid) for sid, p in found.policies.services.items()},
                   teams={r.id: r.name for r in connection.execute(select(teams.c.id, teams.c.name)
                                                                   .order_by(teams.c.name))})


def _args(source: Any) -> dict[str, str]:
    # Only the filter fields, each cut short: nothing else from the request goes anywhere.
    return {k: str(source.get(k, ""))[:80] for k in FILTER_ARGS}


@bp.route("/", methods=["GET"])
def overview() -> Any:
    found = services()
    args = _args(request.args)
    now = found.clock()
    with read(found.engine) as connection:
        choices = _choices(found, connection)
        try:
            scope = parse(args, choices, now)
        except FilterError as problem:
            return render_template("insight/overview.html", report=None, error=str(problem), choices=choices,
                                   args={}, can_export=False), 400
        stale = monthly.needs_refresh(connection, scope, now)
    if stale:
        # Counts only; a separate short write, so the page's read never holds the write lock.
        with write(found.engine) as connection:
            monthly.refresh(connection, scope.service_id, months_between(scope.first_month, scope.last_month), now)
    with read(found.engine) as connection:
        policy = found.policies.services[scope.service_id]
        report = build(connection, policy, scope, now)
    return render_template("insight/overview.html", report=report, error=None, choices=choices, charts=charts,
                           args={"service": scope.service_id, "team": scope.team_id or "",
                                 "from": scope.first_month, "to": scope.last_month},
                           can_export=current_user.member.role in EXPORT_ROLES)


@bp.route("/export", methods=["POST"])
def export() -> Any:
    member = current_user.member
    if member.role not in EXPORT_ROLES:
        abort(403)
    found = services()
    seed = found.config.secrets.insight_signing
    if seed is None:
        return render_template("errors/error.html", status=409, title="Exports cannot be signed yet",
                               message="This instance has no insight signing key. Ask your administrator "
                                       "to run `casefeedback init`, which adds it."), 409
    with write(found.engine) as connection:
        choices = _choices(found, connection)
        try:
            scope = parse(_args(request.form), choices, found.clock())
        except FilterError as problem:
            return render_template("insight/overview.html", report=None, error=str(problem), choices=choices,
                                   args={}, can_export=False), 400
        bundle = build_bundle(connection, found.policies.services[scope.service_id], scope, choices.teams,
                              seed=seed.value, instance_id=instance_id(connection), now=found.clock())
        # In the same transaction: no export leaves without its audit event.
        found.audit.append(connection, AuditEvent(
            action="insight.export", outcome="success", actor_id=member.id, actor_role=member.role,
            object_type="service", object_id=scope.service_id, purpose="insight",
            detail={"team": scope.team_id, "from": scope.first_month, "to": scope.last_month,
                    "rows": bundle.rows, "manifest_sha256": bundle.manifest_sha256}))
    name = f"casefeedback-insight-{scope.service_id}-{scope.first_month}-{scope.last_month}.zip"
    return Response(bundle.zip_bytes(), mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
