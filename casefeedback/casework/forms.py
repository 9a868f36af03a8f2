"""Casework forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from casefeedback.casework.breakglass import MAX_REASON, MIN_REASON
from casefeedback.casework.invitations import DEFAULT_DAYS, MAX_DAYS, MAX_USES
from casefeedback.casework.outcomes import MAX_LENGTH
from casefeedback.casework.replies import MAX_LENGTH as REPLY_MAX


class NewCaseForm(FlaskForm):  # type: ignore[misc]
    service = SelectField("Service", validators=[DataRequired()])
    reference = StringField("Case reference", validators=[
        DataRequired("Enter a case reference"), Length(max=64),
        Regexp(r"^[A-Za-z0-9/ ._-]+$", message="Use letters, numbers, spaces and / . _ - only")])


class EmptyForm(FlaskForm):  # type: ignore[misc]
    """A form with only the CSRF token, for buttons that change something."""


class DeputyForm(FlaskForm):  # type: ignore[misc]
    # The service checks the choice against the case's team, in the transaction that makes the change.
    deputy = SelectField("Deputy", description="Who covers this case when its caseworker is away.",
                         validators=[Optional()], validate_choice=False)


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


class InvitationForm(FlaskForm):  # type: ignore[misc]
    """A field left out of the post takes its default (one use, 28 days); an empty or wrong one is refused."""

    uses = IntegerField(
        "How many times can the link be used to send feedback?",
        description=f"1 is safest: one link for one person. Choose more only for a group, such as a family "
                    f"(up to {MAX_USES}).",
        default=1,
        validators=[DataRequired(f"Enter a number from 1 to {MAX_USES}"),
                    NumberRange(1, MAX_USES, f"Enter a number from 1 to {MAX_USES}")])
    days = IntegerField(
        "How many days should the link work for?",
        description=f"{DEFAULT_DAYS} days is usual; at most {MAX_DAYS}.",
        default=DEFAULT_DAYS,
        validators=[DataRequired(f"Enter a number of days from 1 to {MAX_DAYS}"),
                    NumberRange(1, MAX_DAYS, f"Enter a number of days from 1 to {MAX_DAYS}")])


class TokenForm(FlaskForm):  # type: ignore[misc]
    """The token (and short code), posted back from the creation page to print the handout or download the QR code."""

    token = HiddenField(validators=[DataRequired(), Length(max=64)])
    short_code = HiddenField(validators=[Optional(), Length(max=32)])


class TextInvitationForm(TokenForm):
    """The token and short code as above, and a mobile number typed once: used to send the text, then forgotten."""

    mobile = StringField("Their mobile number", description="A UK mobile, like 07700 900123. It is not kept.",
                         validators=[DataRequired("Enter their mobile number"), Length(max=32)])


class RevokeForm(FlaskForm):  # type: ignore[misc]
    """Only the CSRF token: the invitation is named in the URL (its id, not its token)."""


class ReplyForm(FlaskForm):  # type: ignore[misc]
    """A reply to the person who gave the feedback; the language it is written in, from the service's own."""

    text = TextAreaField("Your reply",
                         description="The person reads this, in these words, when they next open their feedback "
                                     "with their receipt code. It is encrypted; only the person and the people the "
                                     "policy allows can read it.",
                         validators=[DataRequired("Write your reply"),
                                     Length(max=REPLY_MAX, message=f"Keep your reply under {REPLY_MAX} characters")],
                         render_kw={"rows": 8})
    language = SelectField("Written in", validators=[DataRequired("Choose the language you wrote in")],
                           validate_choice=False)
    # Fixed when the form is shown: the same form sent twice stores one reply.
    nonce = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
