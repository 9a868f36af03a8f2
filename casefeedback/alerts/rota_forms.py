"""The rota screen's forms (Flask-WTF: every one carries a CSRF token).

The person and service lists are filled from the rota board when the page is
drawn; what is posted is checked by ``rota`` (a person may have been disabled
since the page was drawn), so the selects do not validate their own choices.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField
from wtforms.validators import InputRequired, Optional

# What a browser's date-and-time box sends, and what a person types without one.
FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
STARTS = "Enter when it starts as a date and a time, like 2026-12-01 08:00."
ENDS = "Enter when it ends as a date and a time, like 2026-12-08 08:00."


class LocalTimeField(DateTimeLocalField):  # type: ignore[misc]
    """A local date and time; an empty box is None, a wrong one a message that says what to type."""

    def __init__(self, label: str, wrong: str, **kwargs: Any) -> None:
        super().__init__(label, format=FORMATS, **kwargs)
        self.wrong = wrong

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = " ".join(str(v) for v in valuelist).strip()
        if not text:
            self.data = None
            return
        for pattern in FORMATS:
            try:
                self.data = datetime.strptime(text, pattern)
            except ValueError:
                continue
            return
        self.data = None
        raise ValueError(self.wrong)


class ShiftForm(FlaskForm):  # type: ignore[misc]
    service = SelectField("Service", validate_choice=False, validators=[InputRequired("Choose a service.")])
    person = SelectField("Person on duty", validate_choice=False,
                         validators=[InputRequired("Choose who is on duty.")])
    starts = LocalTimeField("From", STARTS, validators=[InputRequired("Enter when the shift starts.")])
    ends = LocalTimeField("To", ENDS, validators=[InputRequired("Enter when the shift ends.")])


class AbsenceForm(FlaskForm):  # type: ignore[misc]
    person = SelectField("Person away", validate_choice=False, validators=[InputRequired("Choose who is away.")])
    starts = LocalTimeField("From", STARTS, validators=[InputRequired("Enter when the absence starts.")])
    ends = LocalTimeField("To", ENDS, description="Leave empty if you do not know yet.", validators=[Optional()])
