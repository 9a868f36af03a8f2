"""Administration forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from casefeedback.admin.addresses import BadEmail, email_address
from casefeedback.policy.roles import ROLE_NAMES


def _roles() -> list[SelectChoice]:
    return [SelectChoice(role, name) for role, name in ROLE_NAMES.items()]


def _plain_email(_form: FlaskForm, field: Field) -> None:
    """Empty is allowed (no email); anything else must be a plain address, stored as checked."""
    if not field.data:
        field.data = None
        return
    try:
        field.data = email_address(field.data)
    except BadEmail as error:
        raise ValidationError(str(error)) from None


def _email_field(label: str) -> StringField:
    return StringField(label, description="Their alerts are emailed here, as well as shown when they sign in. "
                                          "Leave empty for no email.", validators=[_plain_email])


class NewStaffForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Username", description="Lowercase letters, digits, '.', '_' or '-'; it cannot change.",
                           validators=[DataRequired("Enter a username"), Length(min=2, max=64),
                                       Regexp(r"^[a-z][a-z0-9._-]+$",
                                              message="Use lowercase letters, digits, '.', '_' or '-', starting "
                                                      "with a letter")])
    display_name = StringField("Full name", validators=[DataRequired("Enter the person's name"), Length(max=120)])
    role = SelectField("Role", choices=_roles(), validators=[DataRequired()])
    team = SelectField("Team", validators=[Optional()])
    email = _email_field("Email for alerts (optional)")


class StaffUpdateForm(FlaskForm):  # type: ignore[misc]
    role = SelectField("Role", choices=_roles(), validators=[DataRequired()])
    team = SelectField("Team", validators=[Optional()])


class EmailForm(FlaskForm):  # type: ignore[misc]
    email = _email_field("Email for alerts")


class ResetForm(FlaskForm):  # type: ignore[misc]
    password = BooleanField("Give them a new temporary password")
    second_factor = BooleanField("Make them set up their authenticator app again (lost or new phone)")


class MoveCasesForm(FlaskForm):  # type: ignore[misc]
    to = SelectField("Give their open cases to", validators=[DataRequired("Choose who takes the cases")])


class TeamForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Team name", validators=[DataRequired("Enter a team name"), Length(max=120)])


class EmptyForm(FlaskForm):  # type: ignore[misc]
    """Only the CSRF token, for buttons that change something."""
