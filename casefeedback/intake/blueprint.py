"""The intake blueprint and what its views share: the policy, the person's draft, where each step lives.

The session (a signed, not encrypted, cookie) holds only ids: the service, the
draft, or before consent the invitation. Never an answer, never a code.
"""

from __future__ import annotations

from typing import Any, NoReturn

from flask import Blueprint, abort, render_template, session, url_for
from werkzeug.wrappers import Response

from casefeedback.intake import drafts
from casefeedback.intake.drafts import Draft
from casefeedback.intake.journey import Step, first_unreached, section_questions, sensitive_section
from casefeedback.policy.model import ServicePolicy
from casefeedback.services import services

bp = Blueprint("intake", __name__, url_prefix="/feedback")


class Detour(Exception):
    """Stop this view and answer with another page (no consent yet, draft expired, unknown question...)."""

    def __init__(self, response: Any) -> None:
        super().__init__()
        self.response = response


@bp.errorhandler(Detour)
def _detour(detour: Detour) -> Any:
    return detour.response


def policy_for(service_id: str) -> ServicePolicy:
    policy = services().policies.service(service_id)
    if policy is None:
        abort(404)
    return policy


def state(service_id: str) -> dict[str, Any]:
    found = session.get("intake")
    return found if isinstance(found, dict) and found.get("service") == service_id else {}


def remember_draft(service_id: str, draft_id: str) -> None:
    session["intake"] = {"service": service_id, "draft": draft_id}


def forget() -> None:
    session.pop("intake", None)


def current_draft(policy: ServicePolicy) -> Draft:
    """The person's draft, or a detour: to consent if there is none, to a kind page if it has expired."""
    draft_id = state(policy.id).get("draft")
    if not isinstance(draft_id, str):
        raise Detour(redirect_to(url_for("intake.start", service_id=policy.id)))
    try:
        return drafts.load_draft(services(), draft_id)
    except drafts.DraftExpired:
        forget()
        raise Detour(gone_page(policy, expired=True)) from None
    except drafts.DraftGone:
        forget()
        raise Detour(redirect_to(url_for("intake.start", service_id=policy.id))) from None


def gone_page(policy: ServicePolicy, *, expired: bool) -> tuple[str, int]:
    return render_template("intake/draft_gone.html", policy=policy, expired=expired), 410


def redirect_to(location: str) -> Response:
    # 303: after a POST the browser GETs the next page, so Refresh never re-sends a form.
    return Response(status=303, headers={"Location": location})


def step_url(policy: ServicePolicy, step: Step | None, *, change: bool = False) -> str:
    """Where a step lives; None is "Check your answers"."""
    if step is None:
        return url_for("intake.check", service_id=policy.id)
    if step.kind == "warning":
        return url_for("intake.section", service_id=policy.id, section_id=step.id)
    return url_for("intake.question", service_id=policy.id, question_id=step.id, change="1" if change else None)


def carry_on_url(policy: ServicePolicy, reached: frozenset[str]) -> str:
    """Where someone carries on: the first question not reached, through its section's warning if sensitive."""
    question = first_unreached(policy, reached)
    if question is None:
        return step_url(policy, None)
    section = sensitive_section(policy, question)
    if section is None:
        return step_url(policy, Step("question", question.id))
    first = section_questions(policy, section)[0]
    return url_for("intake.section", service_id=policy.id, section_id=section,
                   at=None if question.id == first.id else question.id)


def not_found(policy: ServicePolicy | None) -> NoReturn:
    raise Detour((render_template("intake/problem.html", policy=policy, problem="not_found"), 404))
