"""The legal hold forms (Flask-WTF: every one carries a CSRF token).

What makes a hold acceptable — a case that exists, a review date after today
and within the policy's ``[legal_hold] review_within`` — is checked by the
service (``retention.holds``), where the command line is held to it too; these
forms only read what was typed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from casefeedback.retention.holds import MAX_REASON

WRONG_DATE = "Enter the review date as a date, like 2027-03-31."
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]  # a browser's date box sends the first; a person may type the second


class DayField(DateField):  # type: ignore[misc]
    """A day; an empty box is None (the required rule says so), a wrong one a message that says what to type."""

    def __init__(self, label: str, **kwargs: Any) -> None:
        super().__init__(label, format=DATE_FORMATS, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = " ".join(str(v) for v in valuelist).strip()
        self.data = None
        if not text:
            return
        for pattern in DATE_FORMATS:
            try:
                self.data = datetime.strptime(text, pattern).date()
            except ValueError:
                continue
            return
        raise ValueError(WRONG_DATE)


def _reason(label: str, missing: str, hint: str) -> TextAreaField:
    return TextAreaField(label, description=hint, validators=[
        DataRequired(missing), Length(max=MAX_REASON, message=f"Keep it to {MAX_REASON} characters.")])


class HoldForm(FlaskForm):  # type: ignore[misc]
    case = StringField("Case reference", validators=[DataRequired("Enter the case reference."), Length(max=64)])
    reason = _reason("Why must this case be kept?", "Write why the case must be kept.",
                     "For example the court order, complaint or inquiry and its reference. Only records officers "
                     "can read it; it is stored encrypted.")
    review_by = DayField("Review by", validators=[InputRequired("Enter a review date.")])


class ReviewForm(FlaskForm):  # type: ignore[misc]
    review_by = DayField("New review date", validators=[InputRequired("Enter the new review date.")])
    note = _reason("Why is the hold still needed?", "Write why the hold is still needed.",
                   "Only records officers can read it; it is stored encrypted.")


class ReleaseForm(FlaskForm):  # type: ignore[misc]
    reason = _reason("Why is the hold no longer needed?", "Write why the hold is no longer needed.",
                     "Only records officers can read it; it is stored encrypted.")
    # Asked only when the person has not confirmed who they are within reauthenticate_within (the page
    # leaves them out then); the service decides whether they were needed.
    password = PasswordField("Your password", validators=[Optional(), Length(max=256)])
    code = StringField("Security code", description="The 6-digit code from your authenticator app.",
                       validators=[Optional(), Length(max=40)])
