"""Every request gets an id (echoed in ``X-Request-ID``, written on its log lines) and is timed for /metrics.

An incoming ``X-Request-ID`` is kept when it is plainly an id (letters, digits and
hyphens, at most 64), so a proxy's id follows the request through; anything else is
replaced, never echoed, so a header cannot smuggle text into the log or a response.
"""

from __future__ import annotations

import re
import time
import uuid

from flask import Flask, Response, g, request

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def request_id_from(header: str | None) -> str:
    """The caller's id if it is sane, else a new random one."""
    if header is not None and _SANE_ID.fullmatch(header):
        return header
    return str(uuid.uuid4())


def install(app: Flask) -> None:
    """Before every other hook, so even a request the sign-in gate turns away has an id and a time."""
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_finish)


def _begin() -> None:
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    from casefeedback.operations import metrics

    request_id = g.get("request_id") or request_id_from(None)  # a hook before ours may have answered
    response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    if started is not None:
        metrics.observe_request(request.endpoint, response.status_code, time.perf_counter() - started)
    return response
