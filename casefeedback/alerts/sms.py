"""Text messages through GOV.UK Notify: an alert's notice to staff, an invitation to a person.

Notify's own Python client sends them (it signs each request with a short-lived
token made from the API key). Like an email, an alert's text carries NO
content: the same words as the email notice — reference, severity, service,
deadline, link — never a word the person wrote nor which rule fired. A phone
shows texts on its lock screen and keeps them, so nothing else is ever sent.

Numbers: a staff mobile is stored (their personal data, like their email) and
shown masked in logs; a service user's number is typed once, sent to Notify and
kept nowhere. The template in Notify is ``((body))``: the words are ours, so
they are tested here, and Notify never holds a second copy of the wording.
"""

from __future__ import annotations

import logging
import re

from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient
from requests import RequestException

from casefeedback.alerts.channels import DeliveryFailed, Notice
from casefeedback.config import Config

# The client logs Notify's reply at WARNING on a failure; a reply can quote what was sent.
logging.getLogger("notifications_python_client").setLevel(logging.ERROR)

_UK_MOBILE = re.compile(r"^(?:\+?44|0044|0)7(\d{9})$")


class BadMobile(ValueError):
    """Not a UK mobile number; the message says what is wanted (and never repeats what was typed)."""


def mobile_number(text: str) -> str:
    """A UK mobile number in E.164 (+447…), from how people write it (spaces, dashes, brackets, 07…, +44 7…)."""
    digits = re.sub(r"[\s()-]", "", text.strip())
    matched = _UK_MOBILE.fullmatch(digits)
    if matched is None:
        raise BadMobile("Enter a UK mobile number, like 07700 900123 or +44 7700 900123.")
    return "+447" + matched.group(1)


def masked(number: str) -> str:
    """For a log line: enough to tell two phones apart, not enough to call one."""
    return "…" + number[-3:]


def enabled(config: Config, template: str | None) -> bool:
    return config.secrets.notify_api is not None and template is not None


def alert_text(notice: Notice) -> str:
    """The email notice's words, shortened for a text: nothing the email does not say."""
    what = "An alert has been escalated to you" if notice.event == "escalation" else "An alert needs you"
    return (f"casefeedback: {what}. Reference {notice.reference}, {notice.severity}, {notice.service}. "
            f"Please acknowledge by {notice.deadline_text()}. Sign in to see it: {notice.link}")


def send_alert(config: Config, to: str, notice: Notice, reference: str) -> None:
    """One alert text; DeliveryFailed with a short, content-free kind if Notify did not take it."""
    if not enabled(config, config.notify_alert_template):
        raise DeliveryFailed("sms not configured")
    send(config, to, str(config.notify_alert_template), alert_text(notice), reference)


def send(config: Config, to: str, template: str, body: str, reference: str) -> None:
    """Hand one text to Notify. ``reference`` (ours, content-free) lets Notify's records be matched to ours."""
    key = config.secrets.notify_api
    if key is None:
        raise DeliveryFailed("sms not configured")
    # A client per message: Notify's client is not thread-safe, and delivery sends on several threads.
    api_key, base_url, timeout = key.value.decode("ascii"), config.notify_base_url, config.notify_timeout
    client = NotificationsAPIClient(api_key, base_url=base_url, timeout=timeout)  # type: ignore[no-untyped-call]
    try:
        client.send_sms_notification(  # type: ignore[no-untyped-call]
            phone_number=to, template_id=template, personalisation={"body": body}, reference=reference)
    except APIError as error:
        raise DeliveryFailed(_kind(error.status_code)) from None
    except (RequestException, OSError) as error:
        raise DeliveryFailed(f"connection failed ({type(error).__name__})") from None


def _kind(status: int) -> str:
    """Notify's status in words. Its message is not passed on: it can quote the number or the body."""
    return {400: "notify refused the message (400)", 403: "notify refused the API key (403)",
            429: "notify rate limit (429)"}.get(status, f"notify http {status}")
