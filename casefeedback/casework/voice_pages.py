"""Marking failure demand on a case, and the voice of staff: what got in the way of serving someone."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for

from casefeedback.casework import voice
from casefeedback.casework.blueprint import bp, member
from casefeedback.casework.taking_forms import FailureDemandForm, StaffVoiceForm
from casefeedback.casework.voice import Invalid
from casefeedback.services import services


def _failure_page(case_id: str, form: FailureDemandForm, status: int = 200) -> Any:
    found = services()
    reference = voice.case_to_mark(found, member(), case_id)
    rules = voice.voice_rules(found, member())
    hints = {c.id: c.hint for c in rules.failure_demand}
    return render_template("casework/failure_demand.html", case_id=case_id, reference=reference,
                           form=form.fill(rules), hints=hints), status


@bp.route("/cases/<case_id>/failure-demand", methods=["GET"])
def failure_demand_page(case_id: str) -> Any:
    return _failure_page(case_id, FailureDemandForm(formdata=None))


@bp.route("/cases/<case_id>/failure-demand", methods=["POST"])
def failure_demand(case_id: str) -> Any:
    form = FailureDemandForm()
    if not form.validate():
        return _failure_page(case_id, form, 400)
    try:
        voice.mark_failure_demand(services(), member(), case_id, category=form.category.data,
                                  channel=form.channel.data or None, day=form.day.data)
    except Invalid as invalid:
        for name, message in invalid.errors.items():
            form[name].errors = [message]
        return _failure_page(case_id, form, 400)
    flash("Failure demand recorded. Only the kind, the channel and the day are kept: not the case.")
    return redirect(url_for("casework.case", case_id=case_id), code=303)


def _voice_page(form: StaffVoiceForm, status: int = 200, *, recorded: bool = False) -> Any:
    found = services()
    rules = voice.voice_rules(found, member())
    hints = {c.id: c.hint for c in rules.staff_voice}
    return render_template("casework/staff_voice.html", form=form.fill(rules, found.policies.services),
                           hints=hints, recorded=recorded), status


@bp.route("/what-got-in-the-way", methods=["GET"])
def staff_voice_page() -> Any:
    return _voice_page(StaffVoiceForm(formdata=None))


@bp.route("/what-got-in-the-way", methods=["POST"])
def staff_voice() -> Any:
    form = StaffVoiceForm()
    if not form.validate():
        return _voice_page(form, 400)
    try:
        voice.record_staff_voice(services(), member(), service_id=form.service.data, category=form.category.data,
                                 impact=form.impact.data, channel=form.channel.data or None, day=form.day.data)
    except Invalid as invalid:
        for name, message in invalid.errors.items():
            form[name].errors = [message]
        return _voice_page(form, 400)
    return _voice_page(StaffVoiceForm(formdata=None), recorded=True)


