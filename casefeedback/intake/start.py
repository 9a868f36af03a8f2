"""Consent first; invitations; carrying on; and the quick exit."""

from __future__ import annotations

from typing import Any

from flask import render_template, session, url_for
from flask_login import current_user, logout_user

from casefeedback.auth import sessions
from casefeedback.intake import arrival, drafts
from casefeedback.intake.blueprint import (
    adopt_invitation,
    bp,
    carry_on_url,
    current_draft,
    drop_unkept_draft,
    enter_invitation,
    forget,
    linked_to_invitation,
    policy_for,
    redirect_to,
    remember_draft,
    state,
    step_url,
)
from casefeedback.intake.drafts import ConsentGiven, Draft
from casefeedback.intake.forms import ConsentForm, consent_form_class
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
        forget(keep_invitation=True)
        return None


def _consent_page(policy: ServicePolicy, form: ConsentForm, draft: Draft | None) -> str:
    return render_template("intake/consent.html", policy=policy, form=form, draft=draft,
                           linked=linked_to_invitation(policy.id, draft))


@bp.route("/<service_id>", methods=["GET"])
@public
def start(service_id: str) -> Any:
    """The service's address (its link, its QR code, every "start again"): a door, never a page of its own.

    Back after a quick exit must not reach a page that shows the service to anyone
    (intake/arrival.py): the consent page therefore lives behind this door.
    """
    return arrival.door(url_for("intake.consent_page", service_id=policy_for(service_id).id))


@bp.route("/<service_id>/consent", methods=["GET"])
@public
def consent_page(service_id: str) -> Any:
    policy = policy_for(service_id)
    adopt_invitation(policy.id)  # an invitation's link opened from another site (intake/arrival.py)
    draft = _draft_if_any(policy)
    form = consent_form_class(policy)()
    if draft is not None:  # coming back to change their choices: show what they chose
        for choice in policy.consent.choices:
            form[f"choice_{choice.id}"].data = bool(draft.consent.choices.get(choice.id))
    return _consent_page(policy, form, draft)


@bp.route("/<service_id>/consent", methods=["POST"])
@public
def consent(service_id: str) -> Any:
    policy = policy_for(service_id)
    adopt_invitation(policy.id)
    form = consent_form_class(policy)()
    draft = _draft_if_any(policy)
    if not form.validate_on_submit():
        # A required box left unticked: say so, on the same page, still tied to the same invitation.
        return _consent_page(policy, form, draft), 400
    if form.declined():
        # Nothing is stored, and a draft made under an earlier "yes" is erased
        # now: "no" means no. The invitation stays, so "start again" finds it.
        if draft is not None:
            drafts.discard_draft(services(), draft.id, "consent_declined")
        forget(keep_invitation=True)
        return render_template("intake/declined.html", policy=policy)
    choices = {c.id: bool(form[f"choice_{c.id}"].data) for c in policy.consent.choices}
    given = ConsentGiven(policy.consent.version, current_language(), choices)
    if draft is not None:
        try:
            drafts.update_consent(services(), policy, draft.id, given)
            return redirect_to(carry_on_url(policy, draft.reached))
        except drafts.DraftGone:
            forget(keep_invitation=True)  # it expired a moment ago: start afresh below
    found = state(service_id).get("invitation_id")
    invitation_id = found if isinstance(found, str) else None
    draft_id = drafts.start_draft(services(), policy, given, invitation_id)
    remember_draft(service_id, draft_id, invitation_id)
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
    return enter_invitation(invite.service_id, invite.id)


@bp.route("/leave", methods=["GET"])
@public
def leave() -> Any:
    """The quick exit (and its no-JavaScript link): erase the unkept draft, end every session, go elsewhere.

    Whatever Back then reaches is asked for again (no-store) and, with no session
    and no mark of having come in, shows only the neutral page (intake/arrival.py).
    """
    service_id = (session.get("intake") or {}).get("service", "")
    policy = services().policies.service(service_id) if isinstance(service_id, str) and service_id else None
    drop_unkept_draft("left")
    staff_token, sign_in = _staff_sessions()
    sessions.end_on_quick_exit(services(), staff_token, sign_in)
    if staff_token is not None:
        logout_user()
    session.clear()
    response = arrival.forget(redirect_to(policy.exit_url if policy else FALLBACK_EXIT))
    # Ask the browser to drop this site's cookies too. Not "cache" or "storage":
    # browsers can take seconds over those, a quick exit must be quick, pages
    # are no-store anyway and nothing is ever put in the browser's storage.
    response.headers["Clear-Site-Data"] = '"cookies"'
    return response


def _staff_sessions() -> tuple[str | None, str | None]:
    """The staff session this browser holds, and a sign-in it has half done (password given, no code yet)."""
    token = current_user.token if current_user.is_authenticated else None
    sign_in = session.get("sign_in")
    return (token if isinstance(token, str) else None), (sign_in if isinstance(sign_in, str) else None)
