"""Intake views: consent first, then the questions, then the receipt."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session, url_for

from casefeedback.casework.invitations import find_usable_invitation
from casefeedback.intake.forms import answers_form_class, consent_form_class, translate
from casefeedback.intake.submissions import (
    AlreadySubmitted,
    ConsentGiven,
    ConsentMissing,
    InvitationUnusable,
    record_submission,
)
from casefeedback.policy.model import ServicePolicy
from casefeedback.services import services
from casefeedback.storage.engine import read

bp = Blueprint("intake", __name__, url_prefix="/feedback")


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"t": lambda text: translate(text, _language())}


def _language() -> str:
    chosen = session.get("language", "en")
    return chosen if chosen in ("en", "cy") else "en"


def _policy(service_id: str) -> ServicePolicy:
    policy = services().policies.service(service_id)
    if policy is None:
        abort(404)
    return policy


def _state(service_id: str) -> dict[str, Any] | None:
    state = session.get("intake")
    return state if isinstance(state, dict) and state.get("service") == service_id else None


@bp.route("/<service_id>", methods=["GET"])
def start(service_id: str) -> Any:
    policy = _policy(service_id)
    form = consent_form_class(policy, _language())()
    return render_template("intake/consent.html", policy=policy, form=form)


@bp.route("/<service_id>/consent", methods=["POST"])
def consent(service_id: str) -> Any:
    policy = _policy(service_id)
    form = consent_form_class(policy, _language())()
    if not form.validate_on_submit():
        return render_template("intake/consent.html", policy=policy, form=form), 400
    choices = {c.id: bool(form[f"choice_{c.id}"].data) for c in policy.consent.choices}
    if not all(choices[required] for required in policy.consent.required):
        # Nothing is stored, and nothing is kept in the session either.
        session.pop("intake", None)
        return render_template("intake/declined.html", policy=policy)
    previous = _state(service_id) or {}
    session["intake"] = {
        "service": service_id,
        # The submission's id, fixed now: sending the same form twice (or
        # replaying it) collides on this primary key instead of storing twice.
        "submission_id": str(uuid.uuid4()),
        "consent": choices,
        "consent_version": policy.consent.version,
        "language": _language(),
        "invitation_id": previous.get("invitation_id"),
    }
    return redirect(url_for("intake.questions", service_id=service_id), code=303)


@bp.route("/<service_id>/questions", methods=["GET", "POST"])
def questions(service_id: str) -> Any:
    policy = _policy(service_id)
    state = _state(service_id)
    if state is None or "consent" not in state:
        return redirect(url_for("intake.start", service_id=service_id), code=303)
    form = answers_form_class(policy, _language())()
    if request.method == "GET" or not form.validate_on_submit():
        status = 400 if form.errors else 200
        return render_template("intake/questions.html", policy=policy, form=form), status
    try:
        receipt = record_submission(
            services(), policy, submission_id=state["submission_id"],
            consent=ConsentGiven(state["consent_version"], state["language"], state["consent"]),
            given=form.answers(policy), invitation_id=state.get("invitation_id"))
    except AlreadySubmitted:
        session.pop("intake", None)
        return render_template("intake/already_sent.html", policy=policy), 409
    except InvitationUnusable:
        return render_template("intake/invitation_unusable.html", policy=policy, form=form), 410
    except ConsentMissing:
        return redirect(url_for("intake.start", service_id=service_id), code=303)
    session.pop("intake", None)
    # Shown in this response only: the code is never stored, nor put in a URL or cookie.
    return render_template("intake/done.html", policy=policy, receipt=receipt)


@bp.route("/i/<token>", methods=["GET"])
def invitation(token: str) -> Any:
    found = services()
    with read(found.engine) as connection:
        invite = find_usable_invitation(connection, found.config.secrets.lookup.value, token, found.clock())
    if invite is None or found.policies.service(invite.service_id) is None:
        return render_template("intake/invitation_unusable.html", policy=None, form=None), 410
    session["intake"] = {"service": invite.service_id, "invitation_id": invite.id}
    return redirect(url_for("intake.start", service_id=invite.service_id), code=303)


@bp.route("/leave", methods=["GET"])
def leave() -> Any:
    """The no-JavaScript quick exit: forget the session, go somewhere neutral."""
    service_id = (session.get("intake") or {}).get("service", "")
    policy = services().policies.service(service_id) if service_id else None
    session.clear()
    target = policy.exit_url if policy else "https://www.bbc.co.uk/weather"
    return redirect(target, code=303)
