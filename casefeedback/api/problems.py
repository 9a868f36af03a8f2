"""Errors as RFC 9457 problem details (``application/problem+json``), naming the field at fault.

A problem never repeats what was sent: a value may be someone's words, and a
response can end up in another system's log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from werkzeug.wrappers import Response

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "/api/docs#problem-"

TITLES: Mapping[int, str] = {
    400: "The request is not valid",
    401: "A valid bearer token is needed",
    403: "This token may not do that",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "The request body is too large",
    415: "The request body must be JSON",
    422: "The request cannot be carried out",
    429: "Too many requests",
    500: "Something went wrong on our side",
    503: "Briefly unavailable",
}


@dataclass(frozen=True)
class FieldError:
    pointer: str  # a JSON Pointer into the body ("/answers/q3"), or "#/query/name" for a query parameter
    detail: str


@dataclass
class Problem(Exception):
    """Raise to answer with a problem document."""

    status: int
    detail: str
    errors: Sequence[FieldError] = field(default_factory=tuple)
    kind: str | None = None  # the type's fragment; defaults to the status

    def response(self) -> Response:
        return problem_response(self.status, self.detail, self.errors, self.kind)


def problem_response(status: int, detail: str, errors: Sequence[FieldError] = (), kind: str | None = None,
                     headers: Mapping[str, str] | None = None) -> Response:
    body: dict[str, object] = {"type": f"{TYPE_BASE}{kind or status}", "title": TITLES.get(status, "Error"),
                               "status": status, "detail": detail}
    if errors:
        body["errors"] = [{"pointer": e.pointer, "detail": e.detail} for e in errors]
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE, headers=dict(headers or {}))
    if status == 401:
        # RFC 6750: say which scheme is expected, without saying why the token was refused.
        response.headers["WWW-Authenticate"] = 'Bearer realm="casefeedback"'
    return response
