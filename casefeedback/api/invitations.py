"""Invitations for a case: the link, its short code and its QR code, made once and shown once.

Neither the link's token nor the short code is stored (casework/invitations.py
keeps keyed hashes), so this response is the only place they exist: the client
passes them on to the person and keeps them no longer than that.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import url_for

from casefeedback.api.blueprint import about, answer, body, bp, on_behalf_of
from casefeedback.api.cases import CASE_PATH, NOT_YOURS
from casefeedback.api.operations import operation
from casefeedback.api.problems import FieldError, Problem
from casefeedback.api.schemas import ID, USERNAME, WHEN, answered, closed
from casefeedback.casework import invitations
from casefeedback.casework.cases import CaseError, CaseNotFound
from casefeedback.services import services

INVITATION = answered(
    ["id", "case_id", "link", "short_code", "code_page", "uses", "expires_at", "qr_png", "qr_svg"],
    id=ID, case_id=ID, link={"type": "string", "format": "uri"},
    short_code={"type": "string", "description": "Typed at code_page by someone who cannot scan the QR code"},
    code_page={"type": "string", "format": "uri"}, uses={"type": "integer"}, expires_at=WHEN,
    qr_png={"type": "string", "contentEncoding": "base64", "contentMediaType": "image/png",
            "description": "The QR code of the link, as a PNG image"},
    qr_svg={"type": "string", "contentMediaType": "image/svg+xml", "description": "The same QR code, as SVG"})


@operation(bp, "/api/v1/cases/{case_id}/invitations", "POST", operation_id="createInvitation",
           summary="Create an invitation to give feedback on a case", tag="Invitations", scope="invitations:write",
           path_params=CASE_PATH,
           body=closed(["on_behalf_of"], on_behalf_of=USERNAME,
                       uses={"type": "integer", "minimum": 1, "maximum": invitations.MAX_USES, "default": 1},
                       days={"type": "integer", "minimum": 1, "maximum": invitations.MAX_DAYS,
                             "default": invitations.DEFAULT_DAYS}),
           responses={201: ("The invitation, with its link, short code and QR code: shown once", INVITATION)},
           problems={**NOT_YOURS, 422: "No such staff member, or the case is closed"})
def create_invitation(case_id: str) -> Any:
    sent = body()
    member = on_behalf_of(sent["on_behalf_of"])
    about(case_id)
    try:
        invited = invitations.invite(services(), member, case_id, uses=sent.get("uses", 1),
                                     days=sent.get("days", invitations.DEFAULT_DAYS))
    except CaseNotFound:
        raise Problem(404, "No such case among those this staff member may see.") from None
    except CaseError as error:
        raise Problem(422, str(error), [FieldError("/on_behalf_of", str(error))], kind="refused") from None
    made = invited.invitation
    link = url_for("intake.invitation", token=made.token, _external=True)
    qr = invitations.qr_images(link)
    return answer({"id": made.id, "case_id": case_id, "link": link, "short_code": made.short_code,
                   "code_page": url_for("intake.code", _external=True), "uses": made.uses,
                   "expires_at": made.expires_at.isoformat(), "qr_png": base64.b64encode(qr.png).decode("ascii"),
                   "qr_svg": qr.svg.decode("utf-8")}, 201)
