"""A staff member's email address for alerts: a strict check, and telling the old address when it changes.

The address is personal data and the route urgent alerts take, so it is
never written to the audit log or a log line. A stolen administrator session
could quietly redirect a duty manager's alerts; telling the old address lets
the person notice and raise it.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from casefeedback.alerts.channels import DeliveryFailed, send_plain_email
from casefeedback.auth.accounts import AccountError
from casefeedback.config import Config

log = logging.getLogger(__name__)

MAX_LENGTH = 254  # RFC 5321's limit on a forward path, less the angle brackets
# Dot-atom local part and DNS-label domain (at least two labels): no quoted
# strings, comments, display names or whitespace. Anything looser would let a
# CR/LF or a second address into the To header (header injection).
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ADDRESS = re.compile(rf"(?P<local>{_LOCAL})@(?P<domain>{_LABEL}(?:\.{_LABEL})+)", re.ASCII)


class BadEmail(AccountError):
    """Not a plain email address; the message says what is wanted (and never repeats the text)."""


def email_address(text: str) -> str:
    """The address as stored (domain lowercased), or BadEmail. Surrounding spaces are forgiven, nothing else."""
    candidate = text.strip(" ")
    if "@" in candidate:
        local, _, domain = candidate.rpartition("@")
        candidate = f"{local}@{domain.lower()}"
    matched = _ADDRESS.fullmatch(candidate)
    if matched is None or len(candidate) > MAX_LENGTH or len(matched["local"]) > 64:
        raise BadEmail("Enter a plain email address, like name@example.org (no name, spaces or line breaks), "
                       f"up to {MAX_LENGTH} characters.")
    return candidate


def tell_old_address(config: Config, old: str, when: datetime) -> bool:
    """Tell ``old`` that the account's address changed; False (and a log line) if it could not be sent."""
    if not config.smtp_host:
        log.info("the notice that a staff email address changed could not be sent: no SMTP server is configured")
        return False
    try:
        send_plain_email(config, old, "Your casefeedback email address was changed",
                         "The email address for your casefeedback account was changed on "
                         f"{when.strftime('%d %B %Y at %H:%M UTC')}.\n\n"
                         "If this was not you, tell your administrator.\n")
    except DeliveryFailed as error:
        log.warning("the notice that a staff email address changed could not be sent (%s)", error.kind)
        return False
    return True
