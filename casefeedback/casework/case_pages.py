"""One case's page, and the changes made from it: close (after its own confirmation page), deputy, outcome;
and one piece of its feedback."""

from __future__ import annotations

import secrets
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from wtforms import SelectChoice

from casefeedback.casework import outcomes, service
from casefeedback.casework.blueprint import bp, member
from casefeedback.casework.cases import CaseError, ChangeRule
from casefeedback.casework.forms import DeputyForm, EmptyForm, OutcomeForm, ReplyForm
from casefeedback.policy.relations import may_manage, may_record_outcome
from casefeedback.services import services


def _case_page(case_id: str, status: int = 200, *, outcome_form: OutcomeForm | None = None,
               deputy_form: DeputyForm | None = None, refused_change: ChangeRule | None = None) -> Any:
    page = service.case_page(services(), member(), case_id, refused_change=refused_change)
    if deputy_form is None:
        deputy_form = DeputyForm(formdata=None, deputy=page.case.deputy_id or "")
    deputy_form.deputy.choices = [SelectChoice("", "No deputy")] + [
        SelectChoice(i, n) for i, n in page.deputy_choices]
    outcome_form = outcome_form or OutcomeForm(formdata=None, nonce=secrets.token_hex(16))
    return render_template("casework/case.html", case=page.case, submissions=page.submissions,
                           outcomes=page.outcomes, form=EmptyForm(), deputy_form=deputy_form,
                           outcome_form=outcome_form, may_manage=page.may_manage, may_record=page.may_record), status


@bp.route("/cases/<case_id>", methods=["GET"])
def case(case_id: str) -> Any:
    return _case_page(case_id)


@bp.route("/cases/<case_id>/close", methods=["GET"])
def close_confirm(case_id: str) -> Any:
    closing = service.case_to_close(services(), member(), case_id)
    return render_template("casework/close.html", case=closing.case, live_invitations=closing.live_invitations,
                           form=EmptyForm())


@bp.route("/cases/<case_id>/close", methods=["POST"])
def close(case_id: str) -> Any:
    if not EmptyForm().validate_on_submit():
        abort(400)
    if not service.close(services(), member(), case_id):
        flash("This case was already closed. Nothing has changed.")
        return _case_page(case_id, 409)
    flash("The case is closed. Its invitation links no longer work, and retention periods start from today.")
    return redirect(url_for("casework.case", case_id=case_id), code=303)


@bp.route("/cases/<case_id>/deputy", methods=["POST"])
def deputy(case_id: str) -> Any:
    form = DeputyForm()
    if not form.validate_on_submit():
        return _case_page(case_id, 400, deputy_form=form, refused_change=may_manage)
    try:
        service.choose_deputy(services(), member(), case_id, form.deputy.data or None)
    except CaseError as error:
        form.deputy.errors.append(str(error))
        return _case_page(case_id, 400, deputy_form=form)
    flash("The deputy has been changed." if form.deputy.data else "The case has no deputy now.")
    return redirect(url_for("casework.case", case_id=case_id), code=303)


@bp.route("/cases/<case_id>/outcomes", methods=["POST"])
def record_outcome(case_id: str) -> Any:
    form = OutcomeForm()
    if not form.validate_on_submit():
        return _case_page(case_id, 400, outcome_form=form, refused_change=may_record_outcome)
    if not outcomes.record(services(), member(), case_id, text=form.text.data, nonce=form.nonce.data):
        flash("This outcome was already recorded (the form was sent twice). It has been kept once.")
        return _case_page(case_id, 409)
    flash("The outcome has been recorded.")
    return redirect(url_for("casework.case", case_id=case_id), code=303)


@bp.route("/submissions/<submission_id>", methods=["GET"])
def submission(submission_id: str) -> Any:
    return submission_page(submission_id)


# The language a reply is written in, as staff read its name.
_WRITTEN_IN = {"en": "English", "cy": "Welsh (Cymraeg)"}


def submission_page(submission_id: str, status: int = 200, *, reply_form: ReplyForm | None = None) -> Any:
    """One piece of feedback, its replies, and the reply form for those the policy lets write one."""
    opened = service.open_submission(services(), member(), submission_id)
    if reply_form is None:
        reply_form = ReplyForm(formdata=None, nonce=secrets.token_hex(16), language=opened.submission.language)
    languages = opened.policy.languages if opened.policy else ("en",)
    reply_form.language.choices = [SelectChoice(code, _WRITTEN_IN.get(code, code)) for code in languages]
    return render_template("casework/submission.html", submission=opened.submission, fields=opened.fields,
                           came=opened.came,
                           policy=opened.policy, case=opened.case, replies=opened.replies,
                           may_reply=opened.may_reply, reply_form=reply_form,
                           their_language=_WRITTEN_IN.get(opened.submission.language)), status
