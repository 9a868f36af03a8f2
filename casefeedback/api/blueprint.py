"""The API blueprint (/api) and what its views share: the token gate, input checks, JSON answers.

Deny by default: every operation declares the one scope it needs
(``operations.py``), and before any view runs the gate below refuses a call
without a bearer token, with a malformed, unknown or revoked one, or with one
whose client lacks the scope (``policy/api_scopes.allows``) — then checks every
input against the operation's schema. Only the document and its page are open.

CSRF protection is off for this blueprint alone. CSRF rides on credentials a
browser adds by itself (the staff session cookie); this blueprint never reads that
cookie, and a bearer token in the Authorization header is never added by a
browser to a forged cross-site request, so there is nothing to forge.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, g, request
from flask.blueprints import BlueprintSetupState
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from casefeedback.api import acting, clients, validation
from casefeedback.api.clients import ApiClient
from casefeedback.api.operations import Operation, operation_for
from casefeedback.api.problems import FieldError, Problem, problem_response
from casefeedback.auth.sessions import StaffMember
from casefeedback.policy.api_scopes import allows
from casefeedback.ratelimit import limiter
from casefeedback.services import services

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")

# Far below the site's limit: no API body is more than a feedback's answers, and a
# large body is work done before anything is known about it.
MAX_BODY = 48 * 1024
# Per client (by its token's prefix), and per address for calls with no usable token.
CLIENT_LIMIT = "240 per minute"
# Names a token might be put under in an address, besides any value that looks like one.
TOKEN_PARAMETERS = frozenset({"access_token", "token", "bearer", "api_key", "apikey", "authorization"})


def _limit_key() -> str:
    presented = _presented_token() or ""
    if clients.looks_like_token(presented):
        return "api-client:" + presented[:clients.PREFIX_LENGTH]
    return "api-address:" + get_remote_address()


def _limit() -> str:
    return str(current_app.config.get("CASEFEEDBACK_API_LIMIT", CLIENT_LIMIT))


limiter.limit(_limit, key_func=_limit_key)(bp)


@bp.record_once
def _exempt_from_csrf(state: BlueprintSetupState) -> None:
    state.app.extensions["csrf"].exempt(bp)


def _presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _token_in_address() -> bool:
    return any(name.lower() in TOKEN_PARAMETERS or any(clients.looks_like_token(v) for v in values)
               for name, values in request.args.lists())


# The document and its page: open to anyone, and not operations of the API themselves.
OPEN_ENDPOINTS = frozenset({"api.openapi_document", "api.docs"})


def current_operation() -> Operation | None:
    """The operation this request calls; None for the open pages. Anything else is refused as not found."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    found = operation_for(request.endpoint)
    if found is None:  # every other view of this blueprint is declared through ``operation``
        raise Problem(404, "There is nothing at this address.")
    return found


@bp.before_request
def _gate() -> Response | None:
    request.max_content_length = MAX_BODY
    if _token_in_address():
        # An address is kept in browser histories, proxy logs and Referer headers: a token
        # there is as good as published. Refused even when the header is right too.
        return problem_response(400, "Send the token in the Authorization header, never in the address.",
                                [FieldError("#/query", "must not carry a token")], kind="token-in-url")
    op = current_operation()
    if op is None:
        return None
    presented = _presented_token()
    if presented is None:
        return problem_response(401, "Send a bearer token: Authorization: Bearer <token>.")
    client = clients.recognise(services(), presented)
    if client is None:
        return problem_response(401, "This token is not valid.")
    if client.revoked_at is not None:
        _refused(client, op, 401, "revoked")
        return problem_response(401, "This token is not valid.")
    if not allows(client.scopes, op.scope):
        _refused(client, op, 403, "scope")
        return problem_response(403, f"This token does not have the scope {op.scope}.")
    g.api_client = client
    validation.path(op, request.view_args or {})
    g.api_query = validation.query(op, request.args)
    g.api_body = validation.body(op, request.content_type, request.get_data(cache=True))
    return None


def _refused(client: ApiClient, op: Operation, status: int, reason: str) -> None:
    clients.record_call(services(), client, operation=op.operation_id, status=status, refused=reason)


@bp.after_request
def _audit_call(response: Response) -> Response:
    client: ApiClient | None = g.get("api_client")
    op = operation_for(request.endpoint)
    if client is not None and op is not None:
        clients.record_call(services(), client, operation=op.operation_id, status=response.status_code,
                            on_behalf_of=g.get("api_on_behalf_of"), object_id=g.get("api_object"))
    return response


@bp.errorhandler(Problem)
def _problem(problem: Problem) -> Response:
    return problem.response()


def api_problem(error: HTTPException) -> Response:
    """What security.py answers for any HTTP error under /api: a problem document, not a page."""
    status = error.code or 500
    detail = {404: "There is nothing at this address.", 405: "This address does not take that method.",
              413: f"Send at most {MAX_BODY // 1024} KiB.",
              429: "Slow down: this client has sent too many requests. Try again in a minute."}
    allowed = getattr(error, "valid_methods", None)  # a 405 says which methods the address takes
    headers = {"Allow": ", ".join(sorted(allowed))} if allowed else {}
    return problem_response(status, detail.get(status, "The request could not be handled."), headers=headers)


def body() -> dict[str, Any]:
    """The request body, already checked against the operation's schema."""
    found: dict[str, Any] = g.get("api_body") or {}
    return found


def query() -> dict[str, str]:
    found: dict[str, str] = g.get("api_query") or {}
    return found


def staff_named(username: str, field: str) -> StaffMember:
    """The active staff member with this username, or a 422 naming the field."""
    member = acting.staff_member(services(), username)
    if member is None:
        raise Problem(422, "There is no active staff member with that username.",
                      [FieldError(field, "must be the username of an active staff member")], kind="unknown-staff")
    return member


def on_behalf_of(username: str, field: str = "/on_behalf_of") -> StaffMember:
    """The named staff member the client acts for (named in the call's audit event), or a 422."""
    member = staff_named(username, field)
    g.api_on_behalf_of = member.id
    return member


def about(object_id: str) -> None:
    """Name what this call was about, for its audit event."""
    g.api_object = object_id


def answer(document: dict[str, Any], status: int = 200) -> tuple[dict[str, Any], int]:
    return document, status
