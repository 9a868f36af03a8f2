"""Staff sign-in and account forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

CODE_HINT = "The 6-digit code from your authenticator app, or one of your recovery codes."


class SignInForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Username", validators=[DataRequired("Enter your username"), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password"), Length(max=256)])


class CodeForm(FlaskForm):  # type: ignore[misc]
    code = StringField("Security code", description=CODE_HINT,
                       validators=[DataRequired("Enter the code from your authenticator app"), Length(max=40)])


class EnrolForm(FlaskForm):  # type: ignore[misc]
    code = StringField("The 6-digit code your app shows now",
                       validators=[DataRequired("Enter the code your app shows"), Length(max=40)])


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    """Re-authentication before key operations: the password and a fresh code."""

    password = PasswordField("Your password", validators=[DataRequired("Enter your password"), Length(max=256)])
    code = StringField("Security code", description="The 6-digit code from your authenticator app.",
                       validators=[DataRequired("Enter the code from your authenticator app"), Length(max=40)])


class PasswordChangeForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField("Your current password",
                            validators=[DataRequired("Enter your current password"), Length(max=256)])
    new = PasswordField("New password", description="At least 12 characters. A few unrelated words work well.",
                        validators=[DataRequired("Enter a new password"), Length(max=256)])
    repeat = PasswordField("New password again",
                           validators=[DataRequired("Enter the new password again"),
                                       EqualTo("new", "The two new passwords are not the same")])


class EmptyForm(FlaskForm):  # type: ignore[misc]
    """Only the CSRF token, for buttons that change something."""
