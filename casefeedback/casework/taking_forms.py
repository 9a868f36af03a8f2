"""The forms of taking feedback on a person's behalf, and of failure demand and staff voice.

The choices come from the policy (channels, consent choices, categories); what
the person answers is read from the post by ``answers_from`` and checked by
``intake.whole`` against exactly the web form's rules, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import DateField, Field, HiddenField, IntegerField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from casefeedback.admin.addresses import BadEmail, email_address
from casefeedback.intake.whole import Given
from casefeedback.policy.assisted import AssistedRules, Category, Channel
from casefeedback.policy.model import ServicePolicy

YES_NO = [SelectChoice("yes", "Yes"), SelectChoice("no", "No")]
METHODS = [SelectChoice("verbal", "Aloud, after I read it out"),
           SelectChoice("written", "On a paper form they signed")]


class SettingForm(FlaskForm):  # type: ignore[misc]
    """Step one, and carried as hidden fields through the steps after it. Checked by ``taking.setting``."""

    service = SelectField("Service", validate_choice=False)
    channel = RadioField("How is the person giving their feedback?", validate_choice=False)
    language = RadioField("Which language are you speaking together?", validate_choice=False,
                          choices=[SelectChoice("en", "English"), SelectChoice("cy", "Welsh (Cymraeg)")])
    case = HiddenField(validators=[Optional(), Length(max=64)])

    def fill(self, services: Mapping[str, ServicePolicy], channels: tuple[Channel, ...]) -> SettingForm:
        self.service.choices = [SelectChoice(p.id, p.name.get("en", p.id)) for p in services.values()]
        self.channel.choices = [SelectChoice(c.id, c.label["en"]) for c in channels if c.assisted]
        return self


class StepForm(FlaskForm):  # type: ignore[misc]
    """The setting, carried in hidden fields through consent and questions (re-checked at every step)."""

    service = HiddenField(validators=[DataRequired(), Length(max=64)])
    channel = HiddenField(validators=[DataRequired(), Length(max=32)])
    language = HiddenField(validators=[DataRequired(), Length(max=8)])
    case = HiddenField(validators=[Optional(), Length(max=64)])


class ConsentTakenForm(StepForm):
    """One yes/no per consent choice, as the person answered it; and how they gave it. Built per policy."""

    consent_version = IntegerField(validators=[DataRequired()])
    method = RadioField("How did the person agree?", choices=METHODS, default="verbal",
                        validators=[DataRequired("Say how the person agreed")])

    def choices_given(self, policy: ServicePolicy) -> dict[str, bool]:
        return {c.id: self[f"choice_{c.id}"].data == "yes" for c in policy.consent.choices}

    def declined(self, policy: ServicePolicy) -> bool:
        given = self.choices_given(policy)
        return not all(given[c] for c in policy.consent.required)


def consent_taken_form(policy: ServicePolicy, formdata: MultiDict[str, str] | None = None,
                       **defaults: Any) -> ConsentTakenForm:
    fields = {f"choice_{c.id}": RadioField(choices=YES_NO, validators=[
        DataRequired("Record what the person said to this: yes or no")]) for c in policy.consent.choices}
    form_class = type("PolicyConsentTakenForm", (ConsentTakenForm,), fields)
    form: ConsentTakenForm = form_class(formdata=formdata, **defaults)
    return form


def answers_from(policy: ServicePolicy, posted: MultiDict[str, str]) -> dict[str, Given]:
    """What was put in for each question (``answer_<id>``), as posted; skipped questions are absent."""
    answers: dict[str, Given] = {}
    for question in policy.questions:
        name = f"answer_{question.id}"
        if question.kind == "multi_choice":
            chosen = posted.getlist(name)
            if chosen:
                answers[question.id] = chosen
        elif posted.get(name):
            answers[question.id] = posted[name]
    return answers


class SendCodeForm(FlaskForm):  # type: ignore[misc]
    """The receipt code goes back with the form, as an invitation's token does: it is never stored."""

    submission_id = HiddenField(validators=[DataRequired(), Length(max=64)])
    receipt_code = HiddenField(validators=[DataRequired(), Length(max=64)])
    language = HiddenField(validators=[Optional(), Length(max=8)])
    email = StringField("Their email address", description="Used once, to send the code, and not kept.",
                        validators=[DataRequired("Enter their email address"), Length(max=254)],
                        render_kw={"type": "email", "autocomplete": "off", "spellcheck": "false"})

    def validate_email(self, field: Field) -> None:
        try:
            field.data = email_address(field.data)
        except BadEmail:
            raise ValidationError("Enter an email address like name@example.com") from None


def category_choices(categories: tuple[Category, ...]) -> list[SelectChoice]:
    return [SelectChoice(c.id, c.label) for c in categories]


class FailureDemandForm(FlaskForm):  # type: ignore[misc]
    category = RadioField("What kind of failure demand was it?", validate_choice=False,
                          validators=[DataRequired("Choose what kind of failure demand it was")])
    channel = SelectField("How did they contact us?", validate_choice=False, validators=[Optional()])
    day = DateField("When?", description="Leave empty for today.", validators=[Optional()])

    def fill(self, rules: AssistedRules) -> FailureDemandForm:
        self.category.choices = category_choices(rules.failure_demand)
        self.channel.choices = [SelectChoice("", "Not recorded")] + [
            SelectChoice(c.id, c.label["en"]) for c in rules.channels]
        return self


class StaffVoiceForm(FlaskForm):  # type: ignore[misc]
    service = SelectField("Service", validate_choice=False, validators=[DataRequired("Choose a service")])
    category = RadioField("What got in the way?", validate_choice=False,
                          validators=[DataRequired("Choose what got in the way")])
    impact = RadioField("How much did it get in the way?", validate_choice=False,
                        validators=[DataRequired("Choose how much it got in the way")])
    channel = SelectField("How were you serving them?", validate_choice=False, validators=[Optional()])
    day = DateField("When?", description="Leave empty for today.", validators=[Optional()])

    def fill(self, rules: AssistedRules, services: Mapping[str, ServicePolicy]) -> StaffVoiceForm:
        self.service.choices = [SelectChoice(p.id, p.name.get("en", p.id)) for p in services.values()]
        self.category.choices = category_choices(rules.staff_voice)
        self.impact.choices = category_choices(rules.impacts)
        self.channel.choices = [SelectChoice("", "Not recorded"), SelectChoice("web", "Web form")] + [
            SelectChoice(c.id, c.label["en"]) for c in rules.channels]
        return self
