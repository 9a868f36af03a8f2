"""Sending an invitation by text message (GOV.UK Notify), to a number typed once and kept nowhere.

Why the number is not stored: the invitation needs it for one message, and a
stored number of a victim of crime is a thing to protect, leak or be made to
hand over. So it is checked, handed to Notify, and forgotten: it is in no table,
audit event or log line. If the person needs the text again, the caseworker
types the number again. The message names no service, case or member of staff
(a phone is read by others, like the printed handout); it carries the link and
the short code, which the person needs, and the date they stop working.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from casefeedback.alerts import sms
from casefeedback.alerts.channels import DeliveryFailed
from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.invitations import PostedInvitation, posted_invitation
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.tables import invitations


class TextsUnavailable(Exception):
    """This instance is not set up to send texts (no Notify API key or invitation template)."""


class NotSent(Exception):
    """Notify did not take the message; ``kind`` is short and content-free. The invitation still works."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def text_invitation(found: Services, member: StaffMember, case_id: str, *, token: str, short_code: str,
                    mobile: str, words: Callable[[PostedInvitation], str]) -> PostedInvitation:
    """Text a usable invitation of this case to ``mobile``; ``words(posted)`` is the message, in the person's
    languages. CaseNotFound / InvitationNotFound (as for printing), BadMobile, TextsUnavailable or NotSent."""
    posted = posted_invitation(found, member, case_id, token, short_code)
    number = sms.mobile_number(mobile)
    config = found.config
    if not sms.enabled(config, config.notify_invitation_template):
        raise TextsUnavailable()
    outcome, kind = "success", ""
    try:
        sms.send(config, number, str(config.notify_invitation_template), words(posted),
                 reference=f"invitation-{posted.invitation.id}")
    except DeliveryFailed as failed:
        outcome, kind = "failure", failed.kind
    with write(found.engine) as connection:
        case = connection.execute(select(invitations.c.case_id)
                                  .where(invitations.c.id == posted.invitation.id)).scalar_one()
        found.audit.append(connection, AuditEvent(
            action=Action.INVITATION_TEXT, outcome=outcome, actor_id=member.id, actor_role=member.role,
            object_type="invitation", object_id=posted.invitation.id,
            detail={"case": case, **({"error": kind} if kind else {})}))
    if kind:
        raise NotSent(kind)
    return posted
