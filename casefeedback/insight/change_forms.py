"""The "You said, we did" form (Flask-WTF: it carries a CSRF token). The service checks every field
(``insight/changes.checked``) and names every problem; the form only caps what a request may carry."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from casefeedback.insight.changes import MAX_DID, MAX_SAID, Typed

_PERIOD = "A month, like 2026-11, or a quarter, like 2026-Q4."
_NEVER_ONE_PERSON = "Never anything that could point to one person: this is published for everyone to read."


class ChangeForm(FlaskForm):  # type: ignore[misc]
    service = SelectField("Service", validate_choice=False)
    period = StringField("Period", description=_PERIOD,
                         validators=[Length(max=16, message=f"Enter {_PERIOD[0].lower()}{_PERIOD[1:]}")])
    said_en = TextAreaField("You said – in English",
                            description=f"What people told you, in a sentence or two (up to {MAX_SAID} characters). "
                                        + _NEVER_ONE_PERSON, render_kw={"rows": 3})
    did_en = TextAreaField("We did – in English",
                           description=f"What you changed because of it (up to {MAX_DID} characters).",
                           render_kw={"rows": 4})
    said_cy = TextAreaField("You said – in Welsh",
                            description="The same, in Welsh. Both languages are needed before you can save: people "
                                        "read this in the language they chose.", render_kw={"rows": 3})
    did_cy = TextAreaField("We did – in Welsh", render_kw={"rows": 4})
    # Fixed when the form is shown: the same new change sent twice is stored once.
    nonce = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])

    def typed(self) -> Typed:
        # Each text is cut well above its limit, so an over-long one still reaches the service and gets its message.
        def cut(value: str | None, limit: int) -> str:
            return (value or "")[: limit * 2]

        return Typed(service_id=self.service.data or "", period=self.period.data or "",
                     said={"en": cut(self.said_en.data, MAX_SAID), "cy": cut(self.said_cy.data, MAX_SAID)},
                     did={"en": cut(self.did_en.data, MAX_DID), "cy": cut(self.did_cy.data, MAX_DID)})


class ButtonForm(FlaskForm):  # type: ignore[misc]
    """Only the CSRF token, for the publish and unpublish buttons (the change is named in the URL)."""
