"""Invitations to a case: create (link + QR), print, download, revoke.

How the QR code is served: the token exists only in the response that creates
the invitation (its keyed hash is all that is stored), so that one page carries
the link and its QR code as ``data:`` images (the CSP allows ``img-src data:``).
Downloading the PNG or SVG, or opening the printable page, posts the token back
in a form body, never in a URL: URLs end up in server and proxy logs, browser
history and Referer headers, bodies do not. The download checks the token
against a usable invitation of this very case, so it is not a QR generator for
arbitrary text, nor a way to revive a revoked link.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, render_template, url_for

from casefeedback.casework import invitations as invitation_service
from casefeedback.casework.blueprint import bp, member
from casefeedback.casework.cases import CaseError
from casefeedback.casework.forms import InvitationForm, RevokeForm, TokenForm
from casefeedback.casework.invitations import InvitationSummary, qr_images
from casefeedback.services import services

QR_FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


def _list_page(case_id: str, form: InvitationForm, status: int = 200, notice: str | None = None) -> Any:
    listed = invitation_service.case_invitations(services(), member(), case_id)
    return render_template("casework/invitations.html", case=listed.case, form=form, invitations=listed.invitations,
                           revoke_form=RevokeForm(), notice=notice), status


@bp.route("/cases/<case_id>/invitations", methods=["GET"])
def invitations(case_id: str) -> Any:
    return _list_page(case_id, InvitationForm(formdata=None))


@bp.route("/cases/<case_id>/invitations", methods=["POST"])
def invite(case_id: str) -> Any:
    form = InvitationForm()
    if not form.validate_on_submit():
        return _list_page(case_id, form, 400)
    try:
        invited = invitation_service.invite(services(), member(), case_id, uses=form.uses.data, days=form.days.data)
    except CaseError as closed:
        return _list_page(case_id, form, 409, str(closed))
    link = url_for("intake.invitation", token=invited.invitation.token, _external=True)
    # Shown in this response only; never again (only the token's keyed hash is stored).
    return render_template("casework/invitation_created.html", case=invited.case, invitation=invited.invitation,
                           link=link, qr=qr_images(link),
                           token_form=TokenForm(formdata=None, token=invited.invitation.token))


def _posted_invitation(case_id: str) -> tuple[str, InvitationSummary]:
    """(link, invitation) for a token posted back from the creation page: a usable invitation of this case."""
    form = TokenForm()
    if not form.validate_on_submit():
        abort(400)
    invitation = invitation_service.posted_invitation(services(), member(), case_id, form.token.data)
    return str(url_for("intake.invitation", token=form.token.data, _external=True)), invitation


@bp.route("/cases/<case_id>/invitations/qr.<kind>", methods=["POST"])
def invitation_qr(case_id: str, kind: str) -> Any:
    if kind not in QR_FORMATS:
        abort(404)
    link, _ = _posted_invitation(case_id)
    images = qr_images(link)
    # A neutral file name: it may sit in a shared Downloads folder.
    return Response(images.png if kind == "png" else images.svg, mimetype=QR_FORMATS[kind],
                    headers={"Content-Disposition": f'attachment; filename="feedback-link.{kind}"'})


@bp.route("/cases/<case_id>/invitations/print", methods=["POST"])
def invitation_print(case_id: str) -> Any:
    link, invitation = _posted_invitation(case_id)
    return render_template("casework/invitation_print.html", link=link, qr=qr_images(link), invitation=invitation)


@bp.route("/cases/<case_id>/invitations/<invitation_id>/revoke", methods=["POST"])
def invitation_revoke(case_id: str, invitation_id: str) -> Any:
    if not RevokeForm().validate_on_submit():
        abort(400)
    revoked = invitation_service.revoke(services(), member(), case_id, invitation_id)
    notice = ("The invitation has been revoked. Its link no longer works." if revoked
              else "That invitation was already revoked.")
    return _list_page(case_id, InvitationForm(formdata=None), 200, notice)
