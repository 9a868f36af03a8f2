"""Receipt pages that change something: add more, change the contact choice, withdraw consent."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for

from casefeedback.policy.model import ServicePolicy
from casefeedback.policy.pages import public
from casefeedback.receipts import holder
from casefeedback.receipts.blueprint import Held, ask_for_code, bp, code_limit, count_wrong_code, held, language, page
from casefeedback.receipts.consent import change_contact, withdraw
from casefeedback.receipts.forms import AdditionForm, ConfirmForm, ContactForm, addable_questions, addition_form_class
from casefeedback.receipts.service import (
    CONTACT_CHOICE,
    AlreadyAdded,
    NothingToAdd,
    Withdrawn,
    check_code,
    record_addition,
    record_status,
    summary,
)
from casefeedback.services import services
from casefeedback.wording import alert_notices


def _add_page(form: AdditionForm, policy: ServicePolicy, status: int = 200, **context: Any) -> Any:
    return page("add.html", status, policy=policy, form=form, questions=addable_questions(policy),
                held=True, **context)


@bp.route("/yours/add", methods=["GET"])
@public
def add() -> Any:
    mine = held()
    if not isinstance(mine, Held):
        return mine
    holder.prepare_addition(mine.policy.id)
    return _add_page(addition_form_class(mine.policy, language())(formdata=None), mine.policy)


def _reprove(form: AdditionForm, policy: ServicePolicy) -> str | Any:
    """The code typed again on the "add more" page after the browser forgot it; or the page saying what is wrong.

    What the person wrote stays in the form in every case.
    """
    if not form.code.data:
        return _add_page(form, policy, 403, need_code=True)
    result = check_code(services(), form.code.data)
    if result.outcome == "withdrawn":
        return page("withdrawn.html", policy=policy, withdrawn_at=result.withdrawn_at)
    if result.outcome != "active" or result.submission_id is None:
        count_wrong_code()
        return _add_page(form, policy, 400 if result.outcome == "malformed" else 404, need_code=True,
                         problem=result.outcome)
    holder.remember(result.submission_id, services().clock())
    return result.submission_id


@bp.route("/yours/add", methods=["POST"])
@public
@code_limit
def add_send() -> Any:
    found = services()
    submission_id, _expired = holder.current(found.clock())
    pending = holder.pending_addition()
    policy = found.policies.service(pending[1]) if pending else None
    if pending is None or policy is None:
        # Nothing is waiting to be sent: it was sent already (Back and send again), or the form was never shown.
        return page("already_added.html", 409, held=True) if submission_id else ask_for_code(403)
    form = addition_form_class(policy, language())()
    if not form.validate_on_submit():
        return _add_page(form, policy, 400)
    if submission_id is None:
        proved = _reprove(form, policy)
        if not isinstance(proved, str):
            return proved
        submission_id = proved
    status = record_status(found, submission_id)
    if status is None or status.service_id != policy.id:
        # The form was shown for feedback to another service (a second code typed
        # in this browser since): show the right form rather than guess.
        holder.addition_stored()
        return redirect(url_for("receipts.add"), code=303)
    try:
        added = record_addition(found, policy, root_id=submission_id, addition_id=pending[0],
                                given=form.given(addable_questions(policy)), language=language())
    except NothingToAdd:
        return _add_page(form, policy, 400, nothing=True)
    except AlreadyAdded:
        holder.addition_stored()
        return page("already_added.html", 409, policy=policy, held=True)
    except Withdrawn:
        return page("withdrawn.html", policy=policy, withdrawn_at=status.withdrawn_at, held=True)
    holder.addition_stored()
    notices = alert_notices(added.alerts, linked_to_case=added.linked_to_case)
    return page("added.html", policy=policy, held=True, notices=notices)


def _offers_contact(mine: Held) -> bool:
    return any(choice.id == CONTACT_CHOICE for choice in mine.policy.consent.choices)


@bp.route("/yours/contact", methods=["GET", "POST"])
@public
def contact() -> Any:
    mine = held()
    if not isinstance(mine, Held):
        return mine
    if not _offers_contact(mine):
        return page("not_offered.html", 404, policy=mine.policy, held=True)
    found = services()
    now = "yes" if summary(found, mine.submission_id).consent.choices.get(CONTACT_CHOICE) else "no"
    posted = request.method == "POST"
    form = ContactForm() if posted else ContactForm(formdata=None, contact_me=now)
    if not posted or not form.validate_on_submit():
        return page("contact.html", 400 if form.errors else 200, policy=mine.policy, form=form, held=True)
    try:
        change_contact(found, mine.submission_id, form.contact_me.data == "yes")
    except Withdrawn:
        return page("withdrawn.html", policy=mine.policy, held=True)
    return page("contact_saved.html", policy=mine.policy, contact_me=form.contact_me.data == "yes", held=True)


@bp.route("/yours/withdraw", methods=["GET"])
@public
def withdraw_confirm() -> Any:
    mine = held()
    if not isinstance(mine, Held):
        return mine
    return page("withdraw.html", policy=mine.policy, about=summary(services(), mine.submission_id),
                form=ConfirmForm(), held=True)


@bp.route("/yours/withdraw", methods=["POST"])
@public
def withdraw_send() -> Any:
    found = services()
    submission_id, expired = holder.current(found.clock())
    if submission_id is None:
        return ask_for_code(403, expired=expired, nothing_withdrawn=True)
    try:
        result = withdraw(found, submission_id)
    except Withdrawn:
        holder.forget()
        return ask_for_code(403)
    return page("withdrawn.html", policy=found.policies.service(result.service_id), withdrawn_at=result.withdrawn_at,
                just_now=not result.already, already=result.already, result=result, held=True)
