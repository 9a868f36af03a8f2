"""Sending a receipt code to the contact a person gave when their feedback was taken for them.

Only the code, and where to use it: never a word of the feedback, the service's
questions or the channel. The address is used once, for this email, and never
stored or logged; the audit event says an email was sent, not where.
"""

from __future__ import annotations

import logging

from flask_babel import force_locale  # type: ignore[import-untyped]

from casefeedback.alerts.channels import DeliveryFailed, send_plain_email
from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.language import _
from casefeedback.services import Services
from casefeedback.storage.engine import write

log = logging.getLogger(__name__)


def send_receipt(found: Services, to: str, receipt_code: str, language: str, submission_id: str) -> bool:
    """Email the receipt code in the person's language; False (audited, logged without the address) if it failed."""
    page = f"{found.config.public_url}/feedback/receipt"
    with force_locale(language):
        subject = _("Your feedback receipt code")
        body = _(
            "Thank you for your feedback.\n\nYour receipt code is: %(code)s\n\n"
            "Keep it safe. With it you can see what you told us, add to it or take it back, here:\n%(page)s\n\n"
            "Anyone with this code can see your feedback, so do not share it.\n",
            code=receipt_code, page=page)
    try:
        send_plain_email(found.config, to, subject, body)
        outcome = "sent"
    except DeliveryFailed as failure:
        log.warning("a receipt email could not be sent: %s", failure.kind)
        outcome = "failed"
    with write(found.engine) as connection:
        found.audit.append(connection, AuditEvent(
            action=Action.RECEIPT_SEND, outcome=outcome, object_type="submission", object_id=submission_id,
            detail={"by": "email", "language": language}))
    return outcome == "sent"
