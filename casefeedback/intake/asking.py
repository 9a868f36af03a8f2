"""One thing per page: a question, or the content warning before a sensitive section.

Every answer is saved (sealed) as soon as it is given; "Skip this question"
and "Skip this section" are always there; Back shows what was saved; and when an
answer meets an alert rule, the next page says what will happen and where to get
help now.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for

from casefeedback.alerts.rules import meets, questions_of, rules_about
from casefeedback.intake import drafts
from casefeedback.intake.blueprint import bp, current_draft, not_found, policy_for, redirect_to, step_url
from casefeedback.intake.drafts import Draft, Value
from casefeedback.intake.forms import ACTIONS, ActionForm, QuestionForm, prefill, question_form_class
from casefeedback.intake.journey import (
    Step,
    after_section,
    next_step,
    previous_step,
    question_number,
    section_questions,
)
from casefeedback.language import translate
from casefeedback.policy.model import Question, ServicePolicy
from casefeedback.policy.pages import public
from casefeedback.services import services
from casefeedback.wording import AlertNotice, alert_notices


@bp.route("/<service_id>/q/<question_id>", methods=["GET", "POST"])
@public
def question(service_id: str, question_id: str) -> Any:
    policy = policy_for(service_id)
    asked = policy.question(question_id) or not_found(policy)
    draft = current_draft(policy)
    form = question_form_class(policy, asked)()
    change = request.args.get("change") == "1"
    if request.method == "GET":
        if asked.id in draft.reached:
            prefill(form, drafts.open_answers(services(), policy, draft.id, [asked.id]).get(asked.id))
        return render_question(policy, asked, form, change)
    action = request.form.get("action", "continue")
    action = action if action in ACTIONS else "continue"
    if action == "skip":
        drafts.save_answers(services(), policy, draft.id, {asked.id: None})
        return redirect_to(_forward(policy, asked, change))
    if not form.validate_on_submit():
        return render_question(policy, asked, form, change, status=400)  # what they typed is still in the form
    value = form.value()
    # An empty "Back" or "Save" on a question never reached is not a decision to skip it.
    if value is not None or action == "continue" or asked.id in draft.reached:
        drafts.save_answers(services(), policy, draft.id, {asked.id: value})
    destination = {"continue": _forward(policy, asked, change), "back": _backward(policy, asked, change),
                   "save": url_for("intake.save", service_id=policy.id)}[action]
    notices = _signposts(policy, draft, asked, value) if value is not None else []
    if notices:
        # Rendered in answer to the POST, never stored: what someone answered
        # must not be readable later from the session cookie or the history.
        return render_template("intake/signpost.html", policy=policy, notices=notices, continue_url=destination,
                               title_number=question_number(policy, asked.id))
    return redirect_to(destination)


def _forward(policy: ServicePolicy, asked: Question, change: bool) -> str:
    return step_url(policy, None if change else next_step(policy, Step("question", asked.id)))


def _backward(policy: ServicePolicy, asked: Question, change: bool) -> str:
    if change:
        return step_url(policy, None)
    previous = previous_step(policy, Step("question", asked.id))
    return step_url(policy, previous) if previous else url_for("intake.start", service_id=policy.id)


def render_question(policy: ServicePolicy, asked: Question, form: QuestionForm, change: bool, status: int = 200,
                    *, expired: bool = False) -> Any:
    section = policy.sections.get(asked.section) if asked.section else None
    return render_template(
        "intake/question.html", policy=policy, question=asked, form=form, section=section, expired=expired,
        choices=_choices(asked), number=question_number(policy, asked.id), total=len(policy.questions),
        back_url=_backward(policy, asked, change),
        action_url=url_for("intake.question", service_id=policy.id, question_id=asked.id,
                           change="1" if change else None)), status


def _choices(asked: Question) -> list[tuple[str, str]]:
    """(value, label) of each answer offered, "Prefer not to say" apart (the template sets it off)."""
    if asked.kind == "rating":
        return [(str(n), str(n)) for n in range(asked.scale_min, asked.scale_max + 1)]
    return [(option.id, translate(option.text)) for option in asked.options]


def _signposts(policy: ServicePolicy, draft: Draft, asked: Question, value: Value) -> list[AlertNotice]:
    """What the answer just given means, by the rules that look at this question."""
    rules = rules_about(policy, asked.id)
    if not rules:
        return []
    # A score can add up several ratings: open the others only when a rule needs them.
    others = {q for rule in rules for q in questions_of(rule.when)} - {asked.id}
    needed = others & draft.reached
    answers = drafts.open_answers(services(), policy, draft.id, needed) if needed else {}
    answers[asked.id] = value
    matched = [rule for rule in rules if meets(policy, rule.when, answers)]
    return alert_notices(matched, linked_to_case=draft.invitation_id is not None)


@bp.route("/<service_id>/section/<section_id>", methods=["GET", "POST"])
@public
def section(service_id: str, section_id: str) -> Any:
    """The content warning before a sensitive section, with the choice to skip all of it."""
    policy = policy_for(service_id)
    chosen = policy.sections.get(section_id)
    if chosen is None or not chosen.sensitive:
        not_found(policy)
    draft = current_draft(policy)
    asked = section_questions(policy, section_id)
    target = next((q.id for q in asked if q.id == request.args.get("at")), asked[0].id)
    form = ActionForm()
    previous = previous_step(policy, Step("warning", section_id))
    back_url = step_url(policy, previous) if previous else url_for("intake.start", service_id=policy.id)
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("intake/section_warning.html", policy=policy, section=chosen, form=form,
                               count=len(asked), back_url=back_url,
                               action_url=url_for("intake.section", service_id=policy.id, section_id=section_id,
                                                  at=None if target == asked[0].id else target),
                               ), 200 if request.method == "GET" else 400
    if request.form.get("action") == "skip_section":
        drafts.save_answers(services(), policy, draft.id, {q.id: None for q in asked})
        return redirect_to(step_url(policy, after_section(policy, section_id)))
    return redirect_to(step_url(policy, Step("question", target)))
