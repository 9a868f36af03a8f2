"""The short code from a caseworker's paper: typed here, it opens the same invitation as the link or QR code.

The code travels only in the POST body, never in a URL, and is never kept: the
lookup hashes it (casework/invitations.py) and the session then holds the
invitation's id, exactly as after opening the link.

"/feedback/code", the address on the paper, is a door (intake/arrival.py); the
form lives behind it at "/feedback/code/enter", which names the service and its
helplines, so Back after a quick exit finds only the neutral page there.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from flask import Response, g, make_response, render_template, request, url_for
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from flask_wtf import FlaskForm
from wtforms import Field, StringField
from wtforms.validators import ValidationError

from casefeedback.casework import invitations
from casefeedback.intake import arrival
from casefeedback.intake.blueprint import bp, enter_invitation, only_policy
from casefeedback.language import _
from casefeedback.policy.pages import public
from casefeedback.ratelimit import limiter
from casefeedback.services import services

# Guessing, worked out. A short code is 10 symbols from 30 (codes.py): 30^10 ≈ 5.9 × 10^14 codes.
# It works only while its invitation does: at most MAX_DAYS (90) days. Wrong codes are limited to
# 20 a day per address (WRONG_CODE_LIMIT), so one address gets at most 20 × 90 = 1,800 guesses
# over an invitation's whole life. Take an attacker with 10,000 addresses (a rented botnet; an
# IPv6 address counts as its /64, since one host is given a whole /64): 1.8 × 10^7 guesses.
#   - At one given invitation (someone hunting for a particular person's): 1.8e7 / 5.9e14
#     ≈ 3 × 10^-8, about one chance in 33 million.
#   - At whichever invitation happens to match, with 10,000 live at once (a large service):
#     ≈ 3 × 10^-4. What that wins is the consent page of a case they cannot see or read,
#     which is no more than the general feedback anyone can give, tied to a case whose
#     caseworker can see the feedback arrive and revoke the invitation.
# A person mistyping gets 5 tries a minute and 20 a day at one address, which a refuge's or a
# library's shared connection will not reach by honest slips. Correct codes are not counted
# (a caseworker helping several people from one office is never locked out); every attempt,
# right or wrong, is also capped (CODE_FORM_LIMIT) so a script cannot make the lookups costly.
# tests/intake/test_invitation_code.py works this out again from the constants, so a longer
# invitation life or a looser limit cannot quietly undo it.
WRONG_CODE_LIMIT = "5 per minute;20 per day"
CODE_FORM_LIMIT = "10 per minute;100 per day"


def address_block() -> str:
    """The client's address for the code limits: an IPv6 address counts as its /64."""
    address = get_remote_address()
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return str(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False))
    return str(parsed)


def _wrong_code(_response: Response) -> bool:
    return bool(g.get("invitation_code_wrong"))


def _paused(_limit: RequestLimit) -> Response:
    """The page for a reached limit (429): kind, and pointing to the ways in the paper still offers."""
    return make_response(render_template("intake/code.html", policy=only_policy(), form=None, paused=True), 429)


wrong_code_limit = limiter.shared_limit(WRONG_CODE_LIMIT, scope="invitation-code-wrong", key_func=address_block,
                                        methods=["POST"], deduct_when=_wrong_code, on_breach=_paused)
code_form_limit = limiter.shared_limit(CODE_FORM_LIMIT, scope="invitation-code", key_func=address_block,
                                       methods=["POST"], on_breach=_paused)


class InvitationCodeForm(FlaskForm):  # type: ignore[misc]
    code = StringField()

    def validate_code(self, field: Field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(_("Enter the code from the paper your caseworker gave you."))
        if len(field.data) > 64:
            raise ValidationError(_("That is too long to be a code. A code has 10 letters and numbers."))


def _page(form: InvitationCodeForm, status: int = 200) -> tuple[str, int]:
    return render_template("intake/code.html", policy=only_policy(), form=form), status


@bp.route("/code", methods=["GET"])
@public
def code() -> Any:
    """The address printed on a caseworker's paper: a door to the form."""
    return arrival.door(url_for("intake.code_form"))


@bp.route("/code/enter", methods=["GET", "POST"])
@public
@code_form_limit
@wrong_code_limit
def code_form() -> Any:
    form = InvitationCodeForm()
    if request.method == "GET":
        return _page(form)
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        invite = invitations.invitation_for_short_code(services(), form.code.data)
    except invitations.ShortCodeMalformed:
        g.invitation_code_wrong = True
        form.code.errors.append(_("A code has 10 letters and numbers, like K7QM-4TXR-9P. Check it and try again."))
        return _page(form, 400)
    if invite is None:
        # The same answer for a code that never existed and for one whose invitation was
        # revoked, used up or expired, as for the link: the page tells a guesser nothing.
        g.invitation_code_wrong = True
        form.code.errors.append(_("That code does not open any feedback. Check each letter and number. A code "
                                  "stops working once it has been used, when it runs out, or if your caseworker "
                                  "cancels it: if so, ask them for a new one."))
        return _page(form, 404)
    return enter_invitation(invite.service_id, invite.id)
