"""Forms for the receipt pages. Every limit comes from the policy; every message says what to do.

Labels and messages are translated lazily (``_`` is Flask-Babel's ``lazy_gettext``
here), so a form class made once speaks the language of each request.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _  # type: ignore[import-untyped]
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from casefeedback.policy.model import Question, ServicePolicy

# Longer than any code with spaces and dashes; anything longer is not a code.
CODE_INPUT_LIMIT = 64


def text_in(text: Mapping[str, str], language: str) -> str:
    return text.get(language) or text.get("en") or ""


class CodeForm(FlaskForm):  # type: ignore[misc]
    code = StringField(_("Your receipt code"), validators=[
        DataRequired(_("Enter your receipt code")),
        Length(max=CODE_INPUT_LIMIT, message=_("A receipt code has 20 letters and numbers. Check it and try again."))])


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    """Only the CSRF token: for buttons that do one thing (withdraw, forget)."""


class ContactForm(FlaskForm):  # type: ignore[misc]
    contact_me = RadioField(_("Can we contact you about what you told us?"),
                            choices=[SelectChoice("yes", _("Yes, you can contact me")),
                                     SelectChoice("no", _("No, do not contact me"))],
                            validators=[InputRequired(_("Choose yes or no"))])


class AdditionForm(FlaskForm):  # type: ignore[misc]
    """Text boxes for the policy's own-words questions; fields are added per policy by ``addition_form_class``.

    ``code`` is asked for only when the browser has forgotten the code while the
    person was writing: they type it again and nothing they wrote is lost.
    """

    code = StringField(_("Your receipt code"), validators=[Optional(), Length(max=CODE_INPUT_LIMIT)])

    def given(self, questions: tuple[Question, ...]) -> dict[str, str]:
        return {q.id: self[f"q_{q.id}"].data.strip() for q in questions if (self[f"q_{q.id}"].data or "").strip()}


def addable_questions(policy: ServicePolicy) -> tuple[Question, ...]:
    """What a person can add to: the questions that take their own words (each keeps its class and limit)."""
    return tuple(q for q in policy.questions if q.kind == "text")


_CLASSES: dict[tuple[str, str, str], type[AdditionForm]] = {}


def addition_form_class(policy: ServicePolicy, language: str) -> type[AdditionForm]:
    key = (policy.id, policy.version, language)
    if key not in _CLASSES:
        fields = {}
        for question in addable_questions(policy):
            limit = question.max_length
            fields[f"q_{question.id}"] = TextAreaField(
                text_in(question.text, language), description=text_in(question.hint, language),
                validators=[Optional(), Length(max=limit, message=_(
                    "This is longer than %(limit)s characters. Shorten it, or send part now and add the rest "
                    "afterwards.", limit=limit))])
        _CLASSES[key] = type("PolicyAdditionForm", (AdditionForm,), fields)
    return _CLASSES[key]
