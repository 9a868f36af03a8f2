"""Alert forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from casefeedback.alerts.inbox import MAX_OUTCOME


class AcknowledgeForm(FlaskForm):  # type: ignore[misc]
    """Only the CSRF token: acknowledging is one button."""


class ResolveForm(FlaskForm):  # type: ignore[misc]
    outcome = TextAreaField(
        "Outcome", description="What was done. It is encrypted, and only people the policy allows can read it.",
        validators=[DataRequired("Write what was done before resolving the alert"),
                    Length(max=MAX_OUTCOME, message=f"Keep it under {MAX_OUTCOME} characters")])


class RotaForm(FlaskForm):  # type: ignore[misc]
    service = SelectField("Service", validators=[DataRequired()])
    people = TextAreaField("Who is on duty, in order", description="One username a line. The first available "
                           "person is told of alerts from anonymous feedback.", validators=[Length(max=2000)])


class AbsenceForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Username", validators=[DataRequired("Enter a username"), Length(max=64)])
    absent = SelectField("Status", choices=[SelectChoice("absent", "Absent: skip them for alerts"),
                                            SelectChoice("back", "Back at work")])
