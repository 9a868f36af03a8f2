"""Coming in, and what the Back button finds after a quick exit.

The quick exit (``start.leave``) erases an unkept draft and clears the session,
but no page can take entries out of the browser's history: Back asks for them
again (they are no-store, security.py), now without a session. Had those pages
answered as they do for a newcomer, whoever picks up a shared phone next would
see the service's name, its consent text and its helplines. So the service's
pages are shown only to a browser that came in through a door since it last left:

- a *door* is an address people are given (the service's link or QR code, an
  invitation link, the receipt's address). It never shows a page itself: it marks
  the browser as having come in and redirects, so no door is an entry in the
  history that Back can reach;
- every other page first asks ``arrived()``, and if not, shows ``unavailable()``:
  "This page is no longer available", with nothing that names the service.

The mark is a cookie of its own rather than the session: the session cookie is
SameSite=Strict, which a browser does not send on the redirect after a link from
another site (an email, a text message), so the page behind the door could not
see it. The mark is SameSite=Lax and holds nothing but "1": it only lets a browser
see public pages, so forging it gains nothing. The quick exit removes it with the
session (and Clear-Site-Data asks the browser to drop both).

An invitation crosses the doors the same way. Its link is opened from another site,
so the session that its door fills is not sent to the consent page behind it: had the
consent page started afresh, the feedback would have been anonymous, its caseworker
would never hear of it, and a safety alert would go to the duty manager instead. So
the door also sets a short-lived SameSite=Lax cookie holding the invitation's id
(never its token), signed with the session secret under a purpose of its own so it
cannot be forged or swapped for the session cookie; the consent page adopts it into
the session (``adopt_invitation``) and deletes it, and the quick exit deletes it too.
"""

from __future__ import annotations

from flask import current_app, render_template, request, session
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from casefeedback.services import services

MARK = "1"
# Parts of the session that only a browser that came in can hold.
SESSION_KEYS = ("intake", "receipt")
# Long enough to open a link and reach the consent page behind its door, short enough
# that a shared phone does not keep someone's invitation for the next person.
INVITATION_MINUTES = 10


def _secure() -> bool:
    return bool(current_app.config["SESSION_COOKIE_SECURE"])


def _cookie(name: str = "in") -> str:
    # __Host-: bound to this exact origin (Secure, Path=/, no Domain), like the session cookie.
    return f"__Host-casefeedback-{name}" if _secure() else f"casefeedback-{name}"


def _invitation_signer() -> URLSafeSerializer:
    # The session's secret, under a salt of its own: this value is no session, nor the reverse.
    return URLSafeSerializer(current_app.secret_key or "", salt="casefeedback-invitation-arrival")


def _now() -> int:
    return int(services().clock().timestamp())


def arrived() -> bool:
    """Whether this browser came in through a door since it last left (or holds a draft or a receipt)."""
    return request.cookies.get(_cookie()) == MARK or any(session.get(key) for key in SESSION_KEYS)


def door(location: str) -> Response:
    """The answer of a door: mark the browser as having come in, and go to the page behind it."""
    response = Response(status=303, headers={"Location": location})
    response.set_cookie(_cookie(), MARK, path="/", secure=_secure(), httponly=True, samesite="Lax")
    return response


def carry_invitation(response: Response, service_id: str, invitation_id: str) -> Response:
    """Carry an invitation past the doors to the consent page, even when the arrival began on another site."""
    value = _invitation_signer().dumps({"service": service_id, "invitation_id": invitation_id, "at": _now()})
    response.set_cookie(_cookie("invitation"), value, max_age=INVITATION_MINUTES * 60, path="/", secure=_secure(),
                        httponly=True, samesite="Lax")
    return response


def carried_invitation(service_id: str) -> str | None:
    """The id of the invitation carried to this service's consent page, if a fresh, genuine one is."""
    value = request.cookies.get(_cookie("invitation"))
    if not value:
        return None
    try:
        carried = _invitation_signer().loads(value)
    except BadSignature:  # forged or altered
        return None
    if not isinstance(carried, dict) or carried.get("service") != service_id:
        return None
    made = carried.get("at")
    # The cookie's Max-Age asks the browser to drop it; this holds even if a copy is replayed.
    if not isinstance(made, int) or not 0 <= _now() - made <= INVITATION_MINUTES * 60:
        return None
    invitation_id = carried.get("invitation_id")
    return invitation_id if isinstance(invitation_id, str) else None


def drop_invitation(response: Response) -> Response:
    response.delete_cookie(_cookie("invitation"), path="/", secure=_secure(), httponly=True, samesite="Lax")
    return response


def forget(response: Response) -> Response:
    """Remove the mark (and any invitation carried): the service's pages are unavailable until it comes in again."""
    response.delete_cookie(_cookie(), path="/", secure=_secure(), httponly=True, samesite="Lax")
    return drop_invitation(response)


def unavailable() -> tuple[str, int]:
    """The neutral page: no service, no question, no answer, nothing about anything saved."""
    return render_template("intake/unavailable.html", policy=None), 410
