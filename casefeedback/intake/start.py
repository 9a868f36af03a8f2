"""Consent first; invitations; carrying on; and the quick exit."""

from __future__ import annotations

from typing import Any

from flask import render_template, session, url_for

from casefeedback.intake import drafts
from casefeedback.intake.blueprint import (
    bp,
    carry_on_url,
    current_draft,
    forget,
    policy_for,
    redirect_to,
    remember_draft,
    state,
    step_url,
)
from casefeedback.intake.drafts import ConsentGiven, Draft
from casefeedback.intake.forms import consent_form_class
from casefeedback.intake.journey import steps
from casefeedback.language import current_language
from casefeedback.policy.model import ServicePolicy
from casefeedback.policy.pages import public
from casefeedback.services import services

# Where the quick exit goes when no policy is known (e.g. the session had already gone).
FALLBACK_EXIT = "https://www.bbc.co.uk/weather"


def _draft_if_any(policy: ServicePolicy) -> Draft | None:
    draft_id = state(policy.id).get("draft")
    if not isinstance(draft_id, str):
        return None
    try:
        return drafts.load_draft(services(), draft_id)
    except (drafts.DraftGone, drafts.DraftExpired):
        forget()
        return None


@bp.route("/<service_id>", methods=["GET"])
@public
def start(service_id: str) -> Any:
    policy = policy_for(service_id)
    draft = _draft_if_any(policy)
    form = consent_form_class(policy)()
    if draft is not None:  # coming back to change their choices: show what they chose
        for choice in policy.consent.choices:
            form[f"choice_{choice.id}"].data = bool(draft.consent.choices.get(choice.id))
    linked = draft.invitation_id is not None if draft else isinstance(state(service_id).get("invitation_id"), str)
    return render_template("intake/consent.html", policy=policy, form=form, draft=draft, linked=linked)


@bp.route("/<service_id>/consent", methods=["POST"])
@public
def consent(service_id: str) -> Any:
    policy = policy_for(service_id)
    form = consent_form_class(policy)()
    if not form.validate_on_submit():
        linked = isinstance(state(service_id).get("invitation_id"), str)
        return render_template("intake/consent.html", policy=policy, form=form, draft=None, linked=linked), 400
    choices = {c.id: bool(form[f"choice_{c.id}"].data) for c in policy.consent.choices}
    draft = _draft_if_any(policy)
    if not all(choices[required] for required in policy.consent.required):
        # Nothing is stored, nothing is kept in the session, and a draft made
        # under an earlier "yes" is erased now: "no" means no.
        if draft is not None:
            drafts.discard_draft(services(), draft.id, "consent_declined")
        forget()
        return render_template("intake/declined.html", policy=policy)
    given = ConsentGiven(policy.consent.version, current_language(), choices)
    if draft is not None:
        try:
            drafts.update_consent(services(), policy, draft.id, given)
            return redirect_to(carry_on_url(policy, draft.reached))
        except drafts.DraftGone:
            pass  # it expired a moment ago: start afresh below
    invitation_id = state(service_id).get("invitation_id")
    draft_id = drafts.start_draft(services(), policy, given, invitation_id if isinstance(invitation_id, str) else None)
    remember_draft(service_id, draft_id)
    return redirect_to(step_url(policy, steps(policy)[0]))


@bp.route("/<service_id>/questions", methods=["GET"])
@public
def questions(service_id: str) -> Any:
    """Carry on where you left off."""
    policy = policy_for(service_id)
    return redirect_to(carry_on_url(policy, current_draft(policy).reached))


@bp.route("/i/<token>", methods=["GET"])
@public
def invitation(token: str) -> Any:
    invite = drafts.usable_invitation(services(), token)
    if invite is None:
        return render_template("intake/invitation_unusable.html", policy=None), 410
    _drop_unkept_draft("replaced")
    session["intake"] = {"service": invite.service_id, "invitation_id": invite.id}
    return redirect_to(url_for("intake.start", service_id=invite.service_id))


def _drop_unkept_draft(reason: str) -> None:
    """A draft only this session could reach (no resume code) is erased when the session lets go of it."""
    draft_id = (session.get("intake") or {}).get("draft")
    if isinstance(draft_id, str):
        drafts.discard_draft(services(), draft_id, reason, unless_kept=True)


@bp.route("/leave", methods=["GET"])
@public
def leave() -> Any:
    """The quick exit (and its no-JavaScript link): erase the unkept draft, forget the session, go elsewhere."""
    service_id = (session.get("intake") or {}).get("service", "")
    policy = services().policies.service(service_id) if isinstance(service_id, str) and service_id else None
    _drop_unkept_draft("left")
    session.clear()
    response = redirect_to(policy.exit_url if policy else FALLBACK_EXIT)
    # Ask the browser to drop this site's cookies too. Not "cache" or "storage":
    # browsers can take seconds over those, a quick exit must be quick, pages
    # are no-store anyway and nothing is ever put in the browser's storage.
    response.headers["Clear-Site-Data"] = '"cookies"'
    return response
