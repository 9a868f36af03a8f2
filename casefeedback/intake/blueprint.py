"""The intake blueprint and what its views share: the policy, the person's draft, where each step lives.

The session (a signed, not encrypted, cookie) holds only ids: the service, the
draft, or before consent the invitation. Never an answer, never a code.
"""

from __future__ import annotations

from typing import Any, NoReturn

from flask import Blueprint, abort, after_this_request, render_template, request, session, url_for
from werkzeug.wrappers import Response

from casefeedback.intake import arrival, drafts
from casefeedback.intake.drafts import Draft
from casefeedback.intake.journey import Step, first_unreached, section_questions, sensitive_section
from casefeedback.policy.model import ServicePolicy
from casefeedback.services import services

bp = Blueprint("intake", __name__, url_prefix="/feedback")
# The site's front door, "/": a blueprint with a url_prefix cannot serve a page
# outside it. Public like the intake pages, with their frame and quick exit.
front_bp = Blueprint("front", __name__)


class Detour(Exception):
    """Stop this view and answer with another page (no consent yet, draft expired, unknown question...)."""

    def __init__(self, response: Any) -> None:
        super().__init__()
        self.response = response


@bp.errorhandler(Detour)
def _detour(detour: Detour) -> Any:
    return detour.response


# Open to a browser that has not come in (intake/arrival.py): the doors (the front page's,
# the service's, an invitation's, the short code's) and the quick exit itself. The pages
# behind them, the front page's list and the short-code form included, name services and
# helplines: Back after a quick exit must not reach them.
OPEN_TO_ANYONE = frozenset({"front.start", "intake.start", "intake.invitation", "intake.leave", "intake.code"})


def may_show_the_service() -> bool:
    """Whether this request may see the service's pages, its problems included (intake/arrival.py)."""
    return request.endpoint in OPEN_TO_ANYONE or arrival.arrived()


@bp.before_request
@front_bp.before_request
def _only_after_coming_in() -> Any:
    # After a quick exit, Back asks for these pages again with no session: they must not show the service.
    return None if may_show_the_service() else arrival.unavailable()


def policy_for(service_id: str) -> ServicePolicy:
    policy = services().policies.service(service_id)
    if policy is None:
        abort(404)
    return policy


def state(service_id: str) -> dict[str, Any]:
    found = session.get("intake")
    return found if isinstance(found, dict) and found.get("service") == service_id else {}


def remember_draft(service_id: str, draft_id: str, invitation_id: str | None = None) -> None:
    held: dict[str, str] = {"service": service_id, "draft": draft_id}
    if invitation_id is not None:
        held["invitation_id"] = invitation_id
    session["intake"] = held


def forget(*, keep_invitation: bool = False) -> None:
    """Let go of the draft. ``keep_invitation``: go back to where the person stood before consent.

    Someone who declines, or whose draft is gone, and starts again must come back
    to their own invitation: sent as general feedback instead, a safety alert would
    reach the duty manager rather than the caseworker who knows them. After
    sending, nothing is kept: a shared phone must not offer the next person a
    link to this person's case.
    """
    held = session.get("intake")
    invitation_id = held.get("invitation_id") if keep_invitation and isinstance(held, dict) else None
    if isinstance(held, dict) and isinstance(invitation_id, str):
        session["intake"] = {"service": held.get("service"), "invitation_id": invitation_id}
    else:
        session.pop("intake", None)


def linked_to_invitation(service_id: str, draft: Draft | None) -> bool:
    """Whether feedback given now would be tied to a case: the draft's invitation, or the session's before consent."""
    if draft is not None:
        return draft.invitation_id is not None
    return isinstance(state(service_id).get("invitation_id"), str)


def current_draft(policy: ServicePolicy) -> Draft:
    """The person's draft, or a detour: to consent if there is none, a kind page if expired, a neutral one if gone."""
    draft_id = state(policy.id).get("draft")
    if not isinstance(draft_id, str):
        raise Detour(redirect_to(url_for("intake.start", service_id=policy.id)))
    try:
        return drafts.load_draft(services(), draft_id)
    except drafts.DraftExpired:
        forget(keep_invitation=True)
        raise Detour(gone_page(policy, expired=True)) from None
    except drafts.DraftGone:
        # Sent, deleted, or erased by the quick exit in another tab: the neutral page, which
        # neither names the service nor says whether anything was kept.
        forget(keep_invitation=True)
        raise Detour(gone_page(policy, expired=False)) from None


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


def drop_unkept_draft(reason: str) -> None:
    """A draft only this session could reach (no resume code) is erased when the session lets go of it."""
    draft_id = (session.get("intake") or {}).get("draft")
    if isinstance(draft_id, str):
        drafts.discard_draft(services(), draft_id, reason, unless_kept=True)


def enter_invitation(service_id: str, invitation_id: str) -> Response:
    """Hold an invitation in this session until consent, and go to consent: the same for its link,
    its QR code and its short code. An unkept draft of someone before is erased, not inherited.

    The session is SameSite=Strict, so after a link from another site the consent page does not
    see it: the invitation is carried there in a cookie of its own too (intake/arrival.py)."""
    drop_unkept_draft("replaced")
    session["intake"] = {"service": service_id, "invitation_id": invitation_id}
    return arrival.carry_invitation(redirect_to(url_for("intake.start", service_id=service_id)),
                                    service_id, invitation_id)


def adopt_invitation(service_id: str) -> None:
    """Take an invitation carried past the doors into the session, and delete the cookie that carried it.

    Kept only while the session holds no draft here: a draft already going keeps its own link."""
    carried = arrival.carried_invitation(service_id)
    if carried is None:
        return
    if not isinstance(state(service_id).get("draft"), str):
        session["intake"] = {"service": service_id, "invitation_id": carried}
    after_this_request(arrival.drop_invitation)


def only_policy() -> ServicePolicy | None:
    """The service a page belongs to before anything says which: the only one declared, if there is one
    (its helplines and languages frame the page); None when there are several."""
    declared = list(services().policies.services.values())
    return declared[0] if len(declared) == 1 else None
