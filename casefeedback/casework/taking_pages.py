"""Taking feedback on a person's behalf: choose the channel and language, read out the consent text and record
the answers to it, then the same questions as the web form (each skippable), then the receipt code to read out.

Nothing is stored until the last step, and only after the person agreed: the
steps before it carry their choices (never an answer) in hidden fields, and
every step checks them again. Who may take feedback is decided in
``policy/assisted.py`` (a 403 for anyone else, from every step).
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from casefeedback.casework import taking
from casefeedback.casework.blueprint import bp, member
from casefeedback.casework.taking import Invalid, Setting
from casefeedback.casework.taking_forms import (
    ConsentTakenForm,
    SendCodeForm,
    SettingForm,
    StepForm,
    answers_from,
    consent_taken_form,
)
from casefeedback.policy.assisted import may_take_feedback
from casefeedback.services import services


@bp.app_template_filter("channel_label")
def channel_label(channel_id: str | None) -> str:
    """How a feedback came, in words: "By phone"; the person's own web form when no channel was recorded."""
    if not channel_id:
        return "Online form"
    channel = services().policies.organisation.assisted.channel(channel_id)
    return channel.label["en"] if channel else channel_id


@bp.app_context_processor
def _taking() -> dict[str, Any]:
    def may_take() -> bool:
        return bool(current_user.is_authenticated
                    and may_take_feedback(services().policies.organisation.assisted, current_user.member.role))

    return {"may_take_feedback": may_take}


def _start_page(form: SettingForm, status: int = 200) -> Any:
    found = services()
    rules = taking.rules_for(found, member())
    form.fill(found.policies.services, rules.channels)
    return render_template("casework/take_start.html", form=form), status


def _chosen(form: SettingForm | StepForm) -> Setting:
    return taking.setting(services(), member(), service_id=form.service.data or "", language=form.language.data or "",
                          channel_id=form.channel.data or "", case_id=form.case.data or None)


@bp.route("/take", methods=["GET"])
def take_start() -> Any:
    taking.rules_for(services(), member())
    form = SettingForm(formdata=None, meta={"csrf": False}, case=request.args.get("case", "")[:64], language="en")
    return _start_page(form)


@bp.route("/take/consent", methods=["GET"])
def take_consent() -> Any:
    taking.rules_for(services(), member())
    if not request.args:  # arrived here directly, with nothing chosen yet: start at the start
        return redirect(url_for("casework.take_start"))
    form = SettingForm(request.args, meta={"csrf": False})
    try:
        chosen = _chosen(form)
    except Invalid as invalid:
        for name, message in invalid.errors.items():
            form[name].errors = [message]
        return _start_page(form, 400)
    consent = consent_taken_form(chosen.policy, None, consent_version=chosen.policy.consent.version,
                                 service=chosen.policy.id, channel=chosen.channel.id, language=chosen.language,
                                 case=chosen.case_id or "")
    return render_template("casework/take_consent.html", chosen=chosen, form=consent)


@bp.route("/take/questions", methods=["POST"])
def take_questions() -> Any:
    chosen = _posted_setting()
    form = consent_taken_form(chosen.policy, request.form)
    if not form.validate():
        return render_template("casework/take_consent.html", chosen=chosen, form=form), 400
    if form.declined(chosen.policy):
        # Nothing was stored, and nothing will be: say so, plainly, to read out.
        return render_template("casework/take_declined.html", chosen=chosen)
    return _questions_page(chosen, form)


def _questions_page(chosen: Setting, form: ConsentTakenForm, errors: dict[str, str] | None = None,
                    status: int = 200) -> Any:
    return render_template("casework/take_questions.html", chosen=chosen, form=form, errors=errors or {},
                           posted=request.form if errors else None), status


@bp.route("/take/send", methods=["POST"])
def take_send() -> Any:
    chosen = _posted_setting()
    form = consent_taken_form(chosen.policy, request.form)
    if not form.validate() or form.declined(chosen.policy):
        return render_template("casework/take_consent.html", chosen=chosen, form=form), 400
    try:
        taken = taking.take(services(), member(), chosen, choices=form.choices_given(chosen.policy),
                            method=form.method.data, consent_version=form.consent_version.data,
                            answers=answers_from(chosen.policy, request.form))
    except Invalid as invalid:
        return _questions_page(chosen, form, invalid.errors, 400)
    rules = [rule for rule in chosen.policy.alerts if rule.id in taken.alert_rules]
    send = SendCodeForm(formdata=None, submission_id=taken.submission_id, receipt_code=taken.receipt_code,
                        language=chosen.language)
    # Shown in this response only: the code is never stored, nor put in a URL.
    return render_template("casework/take_done.html", chosen=chosen, taken=taken, rules=rules, form=send)


@bp.route("/take/send-code", methods=["POST"])
def take_send_code() -> Any:
    form = SendCodeForm()
    if not form.validate():
        if form.csrf_token.errors or not form.receipt_code.data or not form.submission_id.data:
            abort(400)
        return render_template("casework/take_code_sent.html", form=form, sent=None), 400
    sent = taking.send_code(services(), member(), submission_id=form.submission_id.data,
                            receipt_code=form.receipt_code.data, email=form.email.data)
    return render_template("casework/take_code_sent.html", form=form, sent=sent)


def _posted_setting() -> Setting:
    """The setting carried in the post, checked again (a 400 if it was tampered with or the CSRF token is stale)."""
    step = StepForm()
    if not step.validate():
        abort(400)
    try:
        return _chosen(step)
    except Invalid:
        abort(400)
