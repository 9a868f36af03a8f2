"""/health/live, /health/ready and /metrics: for load balancers and the on-call team, not for people.

Open without signing in and outside every rate limit (a probe every few seconds
must never be refused), and each answers with names and numbers only.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request

from casefeedback.operations import health, metrics
from casefeedback.policy.metrics_access import may_read_metrics
from casefeedback.policy.pages import public
from casefeedback.ratelimit import limiter
from casefeedback.services import services

bp = Blueprint("operations", __name__)


@bp.route("/health/live")
@public
@limiter.exempt
def live() -> Response:
    return jsonify(status="ok")


@bp.route("/health/ready")
@public
@limiter.exempt
def ready() -> tuple[Response, int]:
    found = health.readiness(services())
    return jsonify(found.as_json()), 200 if found.ready else 503


@bp.route("/metrics")
@public
@limiter.exempt
def scrape() -> Response:
    found = services()
    if not may_read_metrics(found.config, request.headers.get("Authorization"), request.remote_addr):
        abort(404)  # to anyone else it is a page that does not exist
    return Response(metrics.render(found), mimetype=None, content_type=metrics.CONTENT_TYPE)
