"""Casework forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from casefeedback.casework.breakglass import MAX_REASON, MIN_REASON
from casefeedback.casework.outcomes import MAX_LENGTH


class NewCaseForm(FlaskForm):  # type: ignore[misc]
    service = SelectField("Service", validators=[DataRequired()])
    reference = StringField("Case reference", validators=[
        DataRequired("Enter a case reference"), Length(max=64),
        Regexp(r"^[A-Za-z0-9/ ._-]+$", message="Use letters, numbers, spaces and / . _ - only")])


class EmptyForm(FlaskForm):  # type: ignore[misc]
    """A form with only the CSRF token, for buttons that change something."""


class DeputyForm(FlaskForm):  # type: ignore[misc]
    deputy = SelectField("Deputy", description="Who covers this case when its caseworker is away.",
                         validators=[Optional()])


class OutcomeForm(FlaskForm):  # type: ignore[misc]
    text = TextAreaField("Outcome", description="What happened as a result. It is encrypted, and only people "
                                                "the policy allows can read it.",
                         validators=[DataRequired("Write the outcome"),
                                     Length(max=MAX_LENGTH, message=f"Keep it under {MAX_LENGTH} characters")])
    # Fixed when the form is shown: the same form sent twice records one outcome.
    nonce = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])


class BreakGlassForm(FlaskForm):  # type: ignore[misc]
    case = StringField("Case reference or id", validators=[DataRequired("Enter the case reference or id"),
                                                           Length(max=64)])
    reason = TextAreaField("Why do you need to open this case now?",
                           description="An auditor and the case team's supervisor will read this. Do not copy "
                                       "in what the person said.",
                           validators=[DataRequired("Write why you need to open this case"),
                                       Length(min=MIN_REASON, max=MAX_REASON,
                                              message=f"Write between {MIN_REASON} and {MAX_REASON} characters")])
    password = PasswordField("Your password", validators=[DataRequired("Enter your password"), Length(max=256)])
    code = StringField("Security code", description="The 6-digit code from your authenticator app.",
                       validators=[DataRequired("Enter the code from your authenticator app"), Length(max=40)])
