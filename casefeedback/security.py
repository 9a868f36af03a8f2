"""Headers, cookies, deny-by-default and error pages: one place for the web's sharp edges."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from casefeedback.crypto.keyring import KeysUnavailable
from casefeedback.policy import pages

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
}


def install(app: Flask, *, secure: bool) -> None:
    Talisman(
        app,
        force_https=secure,
        strict_transport_security=secure,
        strict_transport_security_max_age=63072000,
        session_cookie_secure=secure,
        session_cookie_http_only=True,
        # Talisman would otherwise reset the cookie to SameSite=Lax: Strict means no
        # cross-site request, not even a top-level link, carries a staff session.
        session_cookie_samesite="Strict",
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="no-referrer",
        # No camera, microphone or location for anyone: nothing here needs them.
        permissions_policy={"camera": "()", "microphone": "()", "geolocation": "()", "interest-cohort": "()"},
    )
    app.before_request(_deny_by_default)
    app.after_request(_no_store)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _deny_by_default() -> Any:
    # Everything needs a staff session unless its view is marked ``@public``
    # (policy/pages.py): a view added later is private until someone decides.
    if current_user.is_authenticated or pages.is_public(current_app, request.endpoint):
        return None
    if request.endpoint is None:
        return None  # unknown URL: let routing answer 404
    return redirect(url_for("auth.sign_in"))


def _no_store(response: Response) -> Response:
    # Shared and public devices: nothing a person typed or read may be kept by
    # the browser or a proxy, so Back after leaving shows nothing.
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store, max-age=0"
        response.headers["Pragma"] = "no-cache"
    return response


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    return render_template("errors/error.html", status=400, title="This form has expired",
                           message="For your security, forms expire after a while or when opened in "
                                   "another window. Go back, reload the page and try again."), 400


MESSAGES = {
    400: ("Something was wrong with that request", "Go back and try again."),
    403: ("You cannot see this page", "If you think you should, ask your supervisor."),
    404: ("Page not found", "Check the address, or go back to where you came from."),
    405: ("That action is not possible here", "Go back and try again."),
    413: ("That was too much to send at once",
          "Shorten what you wrote and send it again. Long answers can be split across questions."),
    429: ("Too many attempts", "Wait a few minutes and try again."),
}


def _http_error(error: HTTPException) -> Any:
    status = error.code or 500
    if status >= 500:
        return _unexpected_error(error)
    if _for_the_api():
        from casefeedback.api.blueprint import api_problem

        return api_problem(error)
    title, message = MESSAGES.get(status, ("Something went wrong", "Go back and try again."))
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _for_the_api() -> bool:
    # Another system reads these answers: a problem document (api/problems.py), never a page.
    return request.path == "/api" or request.path.startswith("/api/")


def _unexpected_error(error: Exception) -> Any:
    from casefeedback.storage.engine import unavailable

    if unavailable(error) or isinstance(error, KeysUnavailable):
        return _store_unavailable(error)
    # The log gets the type and where it happened; the SQL parameters are hidden
    # by the engine (hide_parameters), and no page ever shows a traceback.
    log.error("unexpected %s on %s %s", type(error).__name__, request.method, request.endpoint,
              exc_info=error)
    if _for_the_api():
        from casefeedback.api.problems import problem_response

        return problem_response(500, "Nothing was changed unless a later read shows it. Try again later.")
    return render_template("errors/error.html", status=500, title="Sorry, something went wrong on our side",
                           message="Nothing you sent has been lost if you saw a confirmation. "
                                   "Try again in a few minutes."), 500


# Seconds a browser, an API client or a load balancer is asked to wait before trying again: a failover or a
# restart of the database takes about this long.
RETRY_AFTER = 30


def _store_unavailable(error: Exception) -> Any:
    """The database could not answer (down, failing over, too busy), or this process could not read its keys
    (``KeysUnavailable``): a calm 503, never a 500 or a trace. Whatever the request was writing rolled back
    whole with its transaction, or was never begun."""
    keys = isinstance(error, KeysUnavailable)
    if keys:  # an operator must act (crypto/keyring.py says what); the message names no key, only the problem
        log.error("refused to seal on %s %s: %s", request.method, request.endpoint, error)
    else:
        log.warning("database unavailable (%s) on %s %s", type(error).__name__, request.method, request.endpoint)
    if _for_the_api():
        from casefeedback.api.problems import problem_response

        cannot = "read its keys" if keys else "reach its database"
        response = problem_response(503, f"The service cannot {cannot} just now; nothing was changed. "
                                         f"Try again in {RETRY_AFTER} seconds.")
    else:
        response = current_app.make_response((render_template(
            "errors/error.html", status=503, title="Sorry, the service is busy or briefly unavailable",
            message="Nothing you sent has been lost if you saw a confirmation, and nothing was half-saved. "
                    "Please try again in a minute."), 503))
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response
