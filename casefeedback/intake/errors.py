"""Bad input on an intake page: a plain page in the person's language that says what happened and what to do.

Keeps what the person typed where that is safe: after an expired form (CSRF)
on a question, the answer they typed is put back in the form — but only for the
person whose session holds the draft (the session cookie is SameSite=Strict, so
a forged cross-site post never carries it).
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from casefeedback.intake import arrival
from casefeedback.intake.blueprint import Detour, bp, current_draft, may_show_the_service
from casefeedback.intake.forms import question_form_class
from casefeedback.policy.model import ServicePolicy
from casefeedback.services import services

PROBLEMS = {400: "bad_request", 404: "not_found", 413: "too_large", 429: "too_many"}


def _policy() -> ServicePolicy | None:
    service_id = (request.view_args or {}).get("service_id")
    return services().policies.service(service_id) if isinstance(service_id, str) else None


def _retry_url() -> str | None:
    """The same page, fetched afresh: every intake page that takes a POST can also be opened."""
    if request.endpoint in ("intake.question", "intake.section", "intake.save", "intake.resume",
                            "intake.code_form"):
        return request.full_path.rstrip("?")
    if request.endpoint in ("intake.send", "intake.consent") and request.view_args:
        name = "intake.check" if request.endpoint == "intake.send" else "intake.start"
        return url_for(name, service_id=request.view_args["service_id"])
    return None


def _problem(problem: str, status: int) -> tuple[str, int]:
    if not may_show_the_service():
        # A form posted again by Back after a quick exit fails its token check before any
        # view runs: it must not name the service, nor say that earlier answers are safe.
        return arrival.unavailable()
    return render_template("intake/problem.html", policy=_policy(), problem=problem, retry_url=_retry_url()), status


@bp.errorhandler(CSRFError)
def _form_expired(_error: CSRFError) -> Any:
    policy = _policy() if may_show_the_service() else None
    question = policy.question((request.view_args or {}).get("question_id", "")) if policy else None
    if policy is None or question is None:
        return _problem("expired", 400)
    try:
        current_draft(policy)
    except Detour:
        return _problem("expired", 400)  # not their session: show nothing that was posted
    from casefeedback.intake.asking import render_question

    form = question_form_class(policy, question)()  # a fresh token, and their answer from the post
    return render_question(policy, question, form, request.args.get("change") == "1", status=400, expired=True)


def _http_problem(error: HTTPException) -> Any:
    if error.response is not None:
        return error.response  # a page of its own, e.g. a rate limit's (on_breach in intake/code_entry.py)
    status = error.code or 400
    return _problem(PROBLEMS[status], status)


# Only these codes: anything else (and every 5xx) gets the application's own page.
for _code in PROBLEMS:
    bp.register_error_handler(_code, _http_problem)
