"""Forms built from the policy: one question per form, every question optional, every limit declared.

CSRF comes with every FlaskForm. Messages are translated when the form is
validated (in the request), never when the class is built.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, RadioField, SelectChoice, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import ValidationError

from casefeedback.intake.drafts import Value
from casefeedback.language import _
from casefeedback.policy.model import PREFER_NOT_TO_SAY, Question, ServicePolicy

ACTIONS = ("continue", "skip", "save", "back")


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A form with nothing but its CSRF token (warnings, sending, keeping a code)."""


class ConsentForm(FlaskForm):  # type: ignore[misc]
    """The choices are added per policy by ``consent_form_class``, with the ones that must be ticked.

    Not wanting to take part is its own button (``action=decline``), never an
    unticked box: a box left unticked by a slip of the thumb on a small screen is
    a mistake to point out, not a "no" that throws away the way back to a case.
    """

    action = StringField()
    required: tuple[str, ...] = ()

    def declined(self) -> bool:
        return bool(self.action.data == "decline")

    def unticked(self) -> list[str]:
        """The required choices this post left unticked (after ``validate``)."""
        return [choice for choice in self.required if self[f"choice_{choice}"].errors]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        if self.declined():
            return valid
        for choice in self.required:
            field = self[f"choice_{choice}"]
            if not field.data:
                field.errors = [*field.errors, _(
                    "To give feedback, tick the box marked “needed”. "
                    "If you do not want to, choose “I do not want to give feedback”.")]
                valid = False
        return valid


def consent_form_class(policy: ServicePolicy) -> type[ConsentForm]:
    fields: dict[str, Any] = {f"choice_{c.id}": BooleanField() for c in policy.consent.choices}
    fields["required"] = tuple(policy.consent.required)
    return type("PolicyConsentForm", (ConsentForm,), fields)


class ResumeForm(FlaskForm):  # type: ignore[misc]
    code = StringField()

    def validate_code(self, field: Field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(_("Enter the code you were given."))
        if len(field.data) > 64:
            raise ValidationError(_("That is too long to be a code. A code has 20 letters and numbers."))


class QuestionForm(FlaskForm):  # type: ignore[misc]
    question: Question

    def value(self) -> Value:
        """The validated answer; None when nothing was chosen or written (the question is skipped)."""
        data = self.answer.data
        if isinstance(data, str):
            data = data.strip().replace("\r\n", "\n")
        return data or None

    def validate_answer(self, field: Field) -> None:
        question = self.question
        if question.kind == "text":
            text = (field.data or "").strip()
            if len(text) > question.max_length:
                raise ValidationError(_(
                    "Your answer is %(over)d characters too long: the most you can write here is %(limit)d. "
                    "Shorten it, or leave out a part and tell your caseworker instead.",
                    over=len(text) - question.max_length, limit=question.max_length))
            return
        values = field.data if isinstance(field.data, list) else [field.data]
        values = [v for v in values if v]
        allowed = set(question.option_ids())
        if any(v not in allowed for v in values):
            raise ValidationError(_("Choose one of the answers shown, or choose “Skip this question”."))
        if question.kind == "multi_choice" and PREFER_NOT_TO_SAY in values and len(values) > 1:
            raise ValidationError(_("Choose “Prefer not to say” on its own, or untick it."))


_FORM_CLASSES: dict[tuple[str, str, str], type[QuestionForm]] = {}


def question_form_class(policy: ServicePolicy, question: Question) -> type[QuestionForm]:
    """One class per (policy version, question): a policy never changes in memory, so neither does its form."""
    key = (policy.id, policy.version, question.id)
    if key not in _FORM_CLASSES:
        _FORM_CLASSES[key] = type("PolicyQuestionForm", (QuestionForm,),
                                  {"question": question, "answer": _field(question)})
    return _FORM_CLASSES[key]


def _field(question: Question) -> Any:
    # Choices are checked by validate_answer (with a message a person can act on),
    # not by WTForms' own "Not a valid choice".
    if question.kind == "text":
        return TextAreaField()
    choices = [SelectChoice(value, value) for value in question.option_ids()]
    if question.kind == "multi_choice":
        return SelectMultipleField(choices=choices, validate_choice=False)
    return RadioField(choices=choices, validate_choice=False)


def prefill(form: QuestionForm, saved: Value) -> None:
    """Show a saved answer on a GET (Back, Change, coming back later)."""
    if saved is not None:
        form.answer.data = saved
