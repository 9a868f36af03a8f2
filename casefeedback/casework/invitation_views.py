"""Invitation views: create (link + QR), print, download, revoke. Registered on the casework blueprint.

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

from datetime import timedelta
from typing import Any

from flask import Response, abort, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField
from wtforms.validators import DataRequired, Length, NumberRange

from casefeedback.audit import AuditEvent
from casefeedback.casework.cases import CaseSummary, visible_case
from casefeedback.casework.invitations import (
    DEFAULT_DAYS,
    MAX_DAYS,
    MAX_USES,
    InvitationSummary,
    find_usable_invitation,
    invitations_for_case,
    new_invitation,
    qr_images,
    revoke_invitation,
)
from casefeedback.casework.views import bp
from casefeedback.services import services
from casefeedback.storage.engine import read, write

QR_FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


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
    """The token, posted back from the creation page to print or download its QR code."""

    token = HiddenField(validators=[DataRequired(), Length(max=64)])


class RevokeForm(FlaskForm):  # type: ignore[misc]
    """Only the CSRF token: the invitation is named in the URL (its id, not its token)."""


def _case_or_404(connection: Any, case_id: str) -> CaseSummary:
    summary = visible_case(connection, current_user.member, case_id)
    if summary is None:
        abort(404)
    return summary


def _audit(connection: Any, action: str, invitation_id: str, **detail: str | int) -> None:
    member = current_user.member
    services().audit.append(connection, AuditEvent(
        action=action, outcome="success", actor_id=member.id, actor_role=member.role,
        object_type="invitation", object_id=invitation_id, detail=detail))


def _list_page(case_id: str, form: InvitationForm, status: int = 200, notice: str | None = None) -> Any:
    found = services()
    with read(found.engine) as connection:
        summary = _case_or_404(connection, case_id)
        listed = invitations_for_case(connection, case_id, found.clock())
    return render_template("casework/invitations.html", case=summary, form=form, invitations=listed,
                           revoke_form=RevokeForm(), notice=notice), status


@bp.route("/cases/<case_id>/invitations", methods=["GET"])
def invitations(case_id: str) -> Any:
    return _list_page(case_id, InvitationForm(formdata=None))


@bp.route("/cases/<case_id>/invitations", methods=["POST"])
def invite(case_id: str) -> Any:
    found = services()
    form = InvitationForm()
    if not form.validate_on_submit():
        return _list_page(case_id, form, 400)
    with write(found.engine) as connection:
        summary = _case_or_404(connection, case_id)
        created = None
        if summary.status == "open":
            created = new_invitation(connection, found.config.secrets.lookup.value, case_id=case_id,
                                     created_by=current_user.member.id, now=found.clock(), uses=form.uses.data,
                                     lifetime=timedelta(days=form.days.data))
            _audit(connection, "invitation.create", created.id, case=case_id, uses=created.uses,
                   days=form.days.data)
    if created is None:
        return _list_page(case_id, form, 409, "This case is closed, so it cannot take new feedback.")
    link = url_for("intake.invitation", token=created.token, _external=True)
    # Shown in this response only; never again (only the token's keyed hash is stored).
    return render_template("casework/invitation_created.html", case=summary, invitation=created, link=link,
                           qr=qr_images(link), token_form=TokenForm(formdata=None, token=created.token))


def _posted_invitation(case_id: str) -> tuple[str, InvitationSummary]:
    """(link, invitation) for a token posted back from the creation page: a usable invitation of this case."""
    found = services()
    form = TokenForm()
    if not form.validate_on_submit():
        abort(400)
    with read(found.engine) as connection:
        _case_or_404(connection, case_id)
        usable = find_usable_invitation(connection, found.config.secrets.lookup.value, form.token.data,
                                        found.clock())
        listed = {i.id: i for i in invitations_for_case(connection, case_id, found.clock())}
    if usable is None or usable.id not in listed:
        abort(404)
    return str(url_for("intake.invitation", token=form.token.data, _external=True)), listed[usable.id]


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
    found = services()
    if not RevokeForm().validate_on_submit():
        abort(400)
    with write(found.engine) as connection:
        _case_or_404(connection, case_id)
        known = {i.id for i in invitations_for_case(connection, case_id, found.clock())}
        if invitation_id not in known:
            abort(404)
        revoked = revoke_invitation(connection, case_id=case_id, invitation_id=invitation_id, now=found.clock())
        if revoked:
            _audit(connection, "invitation.revoke", invitation_id, case=case_id)
    notice = ("The invitation has been revoked. Its link no longer works." if revoked
              else "That invitation was already revoked.")
    return _list_page(case_id, InvitationForm(formdata=None), 200, notice)
