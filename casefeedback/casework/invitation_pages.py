"""Invitations to a case: create (link, QR code, short code), print, download, revoke.

How the QR code is served: the token exists only in the response that creates
the invitation (its keyed hash is all that is stored), so that one page carries
the link and its QR code as ``data:`` images (the CSP allows ``img-src data:``).
Downloading the PNG or SVG, or opening the printable page, posts the token back
in a form body, never in a URL: URLs end up in server and proxy logs, browser
history and Referer headers, bodies do not. The download checks the token
against a usable invitation of this very case, so it is not a QR generator for
arbitrary text, nor a way to revive a revoked link. The short code travels the
same way, and is checked against the invitation before it is printed.

The handout is for the person, not for staff: it is printed in every language
the service's policy offers, one after the other in the policy's order (a
Welsh-first organisation lists ``cy`` first), each part rendered in its own
locale so the words and the date are that language's.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import Response, abort, render_template, url_for
from flask_babel import force_locale, format_date, gettext  # type: ignore[import-untyped]
from markupsafe import Markup

from casefeedback.alerts.sms import BadMobile, masked
from casefeedback.casework import invitation_texts
from casefeedback.casework import invitations as invitation_service
from casefeedback.casework.blueprint import bp, member
from casefeedback.casework.cases import CaseError
from casefeedback.casework.forms import InvitationForm, RevokeForm, TextInvitationForm, TokenForm
from casefeedback.casework.invitations import PostedInvitation, qr_images
from casefeedback.language import offered_languages
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
    # Shown in this response only; never again (only the keyed hashes of the token and short code are stored).
    return render_template("casework/invitation_created.html", case=invited.case, invitation=invited.invitation,
                           link=link, qr=qr_images(link), code_page=url_for("intake.code", _external=True),
                           token_form=TokenForm(formdata=None, token=invited.invitation.token,
                                                short_code=invited.invitation.short_code),
                           text_form=TextInvitationForm(formdata=None, token=invited.invitation.token,
                                                        short_code=invited.invitation.short_code),
                           texts=_texts_on())


def _texts_on() -> bool:
    config = services().config
    return config.secrets.notify_api is not None and config.notify_invitation_template is not None


@bp.route("/cases/<case_id>/invitations/text", methods=["POST"])
def invitation_text(case_id: str) -> Any:
    """Send the link and short code by text to a number typed here; the page stays, with the outcome."""
    form = TextInvitationForm()
    if not form.validate_on_submit():
        if form.token.errors or form.csrf_token.errors:
            abort(400)
        return _created_again(case_id, form, 400)
    link = str(url_for("intake.invitation", token=form.token.data, _external=True))
    try:
        invitation_texts.text_invitation(services(), member(), case_id, token=form.token.data,
                                         short_code=form.short_code.data or "", mobile=form.mobile.data,
                                         words=lambda posted: _text_words(link, posted))
    except BadMobile as bad:
        form.mobile.errors = [str(bad)]
        return _created_again(case_id, form, 400)
    except invitation_texts.TextsUnavailable:
        return _created_again(case_id, form, 409, "Text messages are not set up here. Give the link or short "
                                                  "code another way; the invitation works as before.")
    except invitation_texts.NotSent as failed:
        return _created_again(case_id, form, 503, f"The text was not sent: GOV.UK Notify did not take it "
                                                  f"({failed.kind}). The invitation still works: try again, "
                                                  "or give it another way.")
    number = masked(form.mobile.data.strip())
    return _created_again(case_id, TextInvitationForm(formdata=None, token=form.token.data,
                                                      short_code=form.short_code.data), 200,
                          notice=f"Sent by text to the number ending {number}. The number was not kept.")


def _created_again(case_id: str, form: TextInvitationForm, status: int, problem: str | None = None,
                   notice: str | None = None) -> Any:
    """The creation page again, from the token posted back (never stored), with the text form's outcome."""
    posted = invitation_service.posted_invitation(services(), member(), case_id, form.token.data,
                                                  form.short_code.data or "")
    case = invitation_service.case_invitations(services(), member(), case_id).case
    link = str(url_for("intake.invitation", token=form.token.data, _external=True))
    shown = SimpleNamespace(uses=posted.invitation.uses_left, expires_at=posted.invitation.expires_at,
                            short_code=posted.short_code)
    return render_template("casework/invitation_created.html", case=case, invitation=shown, link=link,
                           qr=qr_images(link), code_page=url_for("intake.code", _external=True),
                           token_form=TokenForm(formdata=None, token=form.token.data,
                                                short_code=form.short_code.data),
                           text_form=form, texts=_texts_on(), text_problem=problem, text_notice=notice), status


def _text_words(link: str, posted: PostedInvitation) -> str:
    """The text, in every language the service offers (like the handout); it names no service, case or person."""
    code_page = url_for("intake.code", _external=True)
    parts = []
    for language in offered_languages(services().policies.service(posted.service_id)):
        with force_locale(language):
            lines = [gettext("We would like to know how we did. Open this link: %(link)s", link=link)]
            if posted.short_code:
                lines.append(gettext("Or go to %(page)s and type the code %(code)s", page=code_page,
                                     code=posted.short_code))
            lines.append(gettext("This works until %(date)s.",
                                 date=format_date(posted.invitation.expires_at, "d MMMM y")))
            parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _posted_invitation(case_id: str) -> tuple[str, PostedInvitation]:
    """(link, invitation) for a token posted back from the creation page: a usable invitation of this case."""
    form = TokenForm()
    if not form.validate_on_submit():
        abort(400)
    posted = invitation_service.posted_invitation(services(), member(), case_id, form.token.data,
                                                  form.short_code.data or "")
    return str(url_for("intake.invitation", token=form.token.data, _external=True)), posted


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
    link, posted = _posted_invitation(case_id)
    languages = offered_languages(services().policies.service(posted.service_id))
    code_page = url_for("intake.code", _external=True)
    handouts = [_in_language(language, "casework/_handout.html", link=link, code_page=code_page,
                             short_code=posted.short_code, invitation=posted.invitation) for language in languages]
    return render_template("casework/invitation_print.html", qr=qr_images(link), handouts=handouts)


def _in_language(language: str, template: str, **context: Any) -> Markup:
    """A part of a page rendered in ``language``, whatever the page around it is in."""
    with force_locale(language):
        return Markup(render_template(template, language=language, **context))  # noqa: S704 (our own template)


@bp.route("/cases/<case_id>/invitations/<invitation_id>/revoke", methods=["POST"])
def invitation_revoke(case_id: str, invitation_id: str) -> Any:
    if not RevokeForm().validate_on_submit():
        abort(400)
    revoked = invitation_service.revoke(services(), member(), case_id, invitation_id)
    notice = ("The invitation has been revoked. Its link no longer works." if revoked
              else "That invitation was already revoked.")
    return _list_page(case_id, InvitationForm(formdata=None), 200, notice)
