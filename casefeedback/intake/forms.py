"""Forms built from the policy: every question optional, every limit declared."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, RadioField, SelectChoice, SelectMultipleField, TextAreaField, widgets
from wtforms.validators import Length, Optional, ValidationError

from casefeedback.policy.model import PREFER_NOT_TO_SAY, Question, ServicePolicy, Text

PREFER_NOT_TO_SAY_TEXT = {"en": "Prefer not to say", "cy": "Mae'n well gennyf beidio â dweud"}


def translate(text: Text, language: str) -> str:
    return text.get(language) or text.get("en") or ""


class ConsentForm(FlaskForm):  # type: ignore[misc]
    """Fields are added per policy by ``consent_form_class``."""


def consent_form_class(policy: ServicePolicy, language: str) -> type[ConsentForm]:
    fields = {f"choice_{c.id}": BooleanField(translate(c.label, language)) for c in policy.consent.choices}
    return type("PolicyConsentForm", (ConsentForm,), fields)


class AnswersForm(FlaskForm):  # type: ignore[misc]
    def answers(self, policy: ServicePolicy) -> dict[str, str | list[str]]:
        """Only the questions the person answered; a skipped question stores nothing."""
        given: dict[str, str | list[str]] = {}
        for question in policy.questions:
            value = self[f"q_{question.id}"].data
            if value not in (None, "", []):
                given[question.id] = value.strip() if isinstance(value, str) else list(value)
        return given


class MultiCheckboxField(SelectMultipleField):  # type: ignore[misc]
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _choices(question: Question, language: str) -> list[SelectChoice]:
    if question.kind == "rating":
        pairs = [SelectChoice(str(n), str(n)) for n in range(question.scale_min, question.scale_max + 1)]
    else:
        pairs = [SelectChoice(o.id, translate(o.text, language)) for o in question.options]
    if question.prefer_not_to_say:
        pairs.append(SelectChoice(PREFER_NOT_TO_SAY,
                                  PREFER_NOT_TO_SAY_TEXT.get(language, PREFER_NOT_TO_SAY_TEXT["en"])))
    return pairs


def _one_of(allowed: set[str]) -> Any:
    def check(_form: Any, field: Field) -> None:
        values = field.data if isinstance(field.data, list) else [field.data]
        if any(v not in allowed for v in values if v):
            raise ValidationError("Choose one of the options shown, or leave this question blank to skip it.")
    return check


def question_field(question: Question, language: str) -> Field:
    label, hint = translate(question.text, language), translate(question.hint, language)
    if question.kind == "text":
        limit = question.max_length
        return TextAreaField(label, description=hint, validators=[Optional(), Length(
            max=limit, message=f"Your answer is longer than {limit} characters. Shorten it, or split it "
                               "and add the rest later with your receipt code.")])
    choices = _choices(question, language)
    check = _one_of({choice.value for choice in choices})
    if question.kind == "multi_choice":
        return MultiCheckboxField(label, description=hint, choices=choices, validate_choice=False,
                                  validators=[Optional(), check])
    return RadioField(label, description=hint, choices=choices, validate_choice=False,
                      validators=[Optional(), check])


_FORM_CLASSES: dict[tuple[str, str, str], type[AnswersForm]] = {}


def answers_form_class(policy: ServicePolicy, language: str) -> type[AnswersForm]:
    """One class per (policy version, language): a policy never changes in memory, so neither does its form."""
    key = (policy.id, policy.version, language)
    if key not in _FORM_CLASSES:
        fields = {f"q_{q.id}": question_field(q, language) for q in policy.questions}
        _FORM_CLASSES[key] = type("PolicyAnswersForm", (AnswersForm,), fields)
    return _FORM_CLASSES[key]
