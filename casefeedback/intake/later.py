"""Stopping and coming back: a resume code the person chooses to keep, or deleting what they have given."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, session

from casefeedback.intake import drafts
from casefeedback.intake.blueprint import (
    bp,
    carry_on_url,
    current_draft,
    forget,
    gone_page,
    policy_for,
    redirect_to,
    remember_draft,
)
from casefeedback.intake.forms import ActionForm, ResumeForm
from casefeedback.language import _
from casefeedback.policy.pages import public
from casefeedback.ratelimit import limiter
from casefeedback.services import services
from casefeedback.wording import duration_text

# Codes carry 100 bits, so guessing is hopeless anyway; the limit keeps a
# script from trying, and from filling the log with its attempts.
RESUME_LIMIT = "10 per minute;60 per day"


@bp.route("/<service_id>/save", methods=["GET", "POST"])
@public
def save(service_id: str) -> Any:
    policy = policy_for(service_id)
    draft = current_draft(policy)
    form = ActionForm()
    keep = duration_text(policy.draft_keep)
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("intake/save.html", policy=policy, draft=draft, form=form, keep=keep,
                               carry_on=carry_on_url(policy, draft.reached))
    if request.form.get("action") == "delete":
        drafts.discard_draft(services(), draft.id, "deleted_by_person")
        forget(keep_invitation=True)  # "start again" comes back to their invitation
        return render_template("intake/deleted.html", policy=policy)
    code = drafts.keep_with_resume_code(services(), policy, draft.id)
    # Shown in this response only; only its keyed hash is stored.
    return render_template("intake/resume_code.html", policy=policy, code=code, keep=keep,
                           carry_on=carry_on_url(policy, draft.reached))


@bp.route("/<service_id>/resume", methods=["GET", "POST"])
@public
@limiter.limit(RESUME_LIMIT, methods=["POST"])
def resume(service_id: str) -> Any:
    policy = policy_for(service_id)
    form = ResumeForm()
    keep = duration_text(policy.draft_keep)
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("intake/resume.html", policy=policy, form=form, keep=keep), \
            200 if request.method == "GET" else 400
    try:
        draft_id, draft_service = drafts.find_by_resume_code(services(), form.code.data)
    except drafts.CodeMalformed:
        form.code.errors.append(_("A code has 20 letters and numbers, in 5 groups of 4, like ABCD-EFGH-JKMN-PQRS-TVWX. "
                                  "Check it and try again."))
        return render_template("intake/resume.html", policy=policy, form=form, keep=keep), 400
    except drafts.DraftGone:
        form.code.errors.append(_("We could not find any answers for that code. Check each letter and number. "
                                  "Answers are deleted %(keep)s after they were last changed.", keep=keep))
        return render_template("intake/resume.html", policy=policy, form=form, keep=keep), 404
    except drafts.DraftExpired:
        return gone_page(policy, expired=True)
    current = (session.get("intake") or {}).get("draft")
    if isinstance(current, str) and current != draft_id:
        drafts.discard_draft(services(), current, "replaced", unless_kept=True)
    remember_draft(draft_service, draft_id)
    target = policy_for(draft_service)
    return redirect_to(carry_on_url(target, current_draft(target).reached))
