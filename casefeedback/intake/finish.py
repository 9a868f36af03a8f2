"""Check your answers, then send: the receipt code is shown once, in the response, and nowhere else."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from casefeedback.alerts.rules import matching_rules
from casefeedback.intake import drafts
from casefeedback.intake.blueprint import bp, current_draft, forget, gone_page, policy_for, redirect_to, state, step_url
from casefeedback.intake.drafts import Value
from casefeedback.intake.forms import ActionForm
from casefeedback.intake.journey import question_number
from casefeedback.intake.submissions import (
    AlreadySubmitted,
    ConsentMissing,
    DraftChanged,
    DraftGone,
    InvitationUnusable,
    record_submission,
)
from casefeedback.language import current_language
from casefeedback.policy.model import Question, Section
from casefeedback.policy.pages import public
from casefeedback.ratelimit import INTAKE_SEND_LIMIT, limiter
from casefeedback.services import services
from casefeedback.wording import alert_notices


@bp.route("/<service_id>/check", methods=["GET"])
@public
def check(service_id: str) -> Any:
    policy = policy_for(service_id)
    draft = current_draft(policy)
    values = drafts.open_answers(services(), policy, draft.id)
    given = {qid: value for qid, value in values.items() if value is not None}
    notices = alert_notices(matching_rules(policy, given), linked_to_case=draft.invitation_id is not None)
    groups: list[tuple[Section | None, list[tuple[Question, int, Value, bool]]]] = []
    for question in policy.questions:
        section = policy.sections.get(question.section) if question.section else None
        if not groups or groups[-1][0] != section:
            groups.append((section, []))
        groups[-1][1].append((question, question_number(policy, question.id), values.get(question.id),
                              question.id in draft.reached))
    return render_template("intake/check.html", policy=policy, draft=draft, groups=groups, notices=notices,
                           form=ActionForm(), answered=len(given))


@bp.route("/<service_id>/send", methods=["POST"])
@public
@limiter.limit(INTAKE_SEND_LIMIT, methods=["POST"])
def send(service_id: str) -> Any:
    policy = policy_for(service_id)
    draft_id = state(service_id).get("draft")
    form = ActionForm()
    if not form.validate_on_submit():
        return redirect_to(step_url(policy, None))
    if not isinstance(draft_id, str):
        # Sent already from this browser (Back and Send again), or left with the quick exit.
        return render_template("intake/draft_gone.html", policy=policy, expired=False), 409
    try:
        # "unlinked": the invitation ran out before they sent, and they chose to send it as general feedback.
        recorded = record_submission(services(), policy, draft_id=draft_id, language=current_language(),
                                     unlinked=request.form.get("action") == "unlinked")
    except AlreadySubmitted:
        forget()
        return render_template("intake/already_sent.html", policy=policy), 409
    except InvitationUnusable:
        return render_template("intake/invitation_unusable.html", policy=policy, form=form), 410
    except (ConsentMissing, DraftChanged):
        # Consent withdrawn, or the draft changed in another tab while this one sent it (twice
        # over): show the answers as they are now, to send from there.
        return redirect_to(step_url(policy, None))
    except DraftGone:
        current_draft(policy)  # says why: expired (a kind page) or gone (back to the start)
        return gone_page(policy, expired=False)
    forget()
    notices = alert_notices(recorded.alerts, linked_to_case=recorded.linked_to_case)
    # Shown in this response only: the code is never stored, nor put in a URL or cookie.
    return render_template("intake/done.html", policy=policy, receipt=recorded.receipt_code, notices=notices)
