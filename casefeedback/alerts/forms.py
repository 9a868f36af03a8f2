"""Alert forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from casefeedback.alerts.inbox import MAX_OUTCOME


class AcknowledgeForm(FlaskForm):  # type: ignore[misc]
    """Only the CSRF token: acknowledging is one button."""


class ResolveForm(FlaskForm):  # type: ignore[misc]
    # Resolving without saying what was done would leave the next person guessing
    # whether anyone called: the note is required, and sealed like an answer.
    outcome = TextAreaField(
        "What did you do?",
        description="For example: \u201cCalled her at 14:10, she is staying with her sister tonight.\u201d "
                    "A sentence or two is enough. It is encrypted, and only people the policy allows can read it.",
        validators=[DataRequired("Write what you did before resolving the alert"),
                    Length(max=MAX_OUTCOME, message=f"Write {MAX_OUTCOME} characters or fewer")])

