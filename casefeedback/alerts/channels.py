"""The channels a notification leaves by: email over SMTP and a signed webhook.

A notification carries NO sensitive content: only the alert's reference,
severity, service, acknowledgement deadline and a link to sign in and see it.
An email passes through servers we do not control and sits in inboxes on
phones; a webhook lands in another organisation's duty system. Neither may
hold a word the person wrote, nor even which question raised the alert.
"""

from __future__ import annotations

import base64
import hashlib
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid

from standardwebhooks.webhooks import Webhook

from casefeedback.config import Config

# Standard Webhooks (standardwebhooks.com): any receiver can check our requests with an
# off-the-shelf verifier given the key as ``whsec_<base64>`` (``casefeedback webhook-secret``).
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
# Verifiers refuse a timestamp further than this from their own clock (the specification's
# five minutes, SECURITY.md "Alerts"): a captured request cannot be replayed later.
REPLAY_WINDOW_SECONDS = 300


class DeliveryFailed(Exception):
    """A channel could not deliver. ``kind`` is a short, content-free reason for logs and the record."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Notice:
    """Everything a notification may say. Nothing else is ever passed to a channel."""

    reference: str
    severity: str
    service: str
    deadline: datetime | None
    link: str
    event: str  # "alert" (first told), "escalation", or "reminder" (overdue, repeated until acknowledged)
    overdue: str | None = None  # a reminder's "overdue by", in words

    def deadline_text(self) -> str:
        return self.deadline.strftime("%H:%M UTC on %d %B %Y") if self.deadline else "now"


def send_email(config: Config, to: str, notice: Notice) -> None:
    if notice.event == "reminder":
        _deliver(config, reminder_email(config, to, notice))
        return
    message = EmailMessage()
    message["Subject"] = f"[{notice.severity}] casefeedback alert {notice.reference}"
    message["From"] = config.smtp_from
    message["To"] = to
    message["Message-ID"] = make_msgid(domain="casefeedback")
    what = "An alert has been escalated to you" if notice.event == "escalation" else "An alert needs you"
    message.set_content(
        f"{what}.\n\nReference: {notice.reference}\nSeverity: {notice.severity}\nService: {notice.service}\n"
        f"Please acknowledge by: {notice.deadline_text()}\n\nSign in to see it and acknowledge it:\n{notice.link}\n\n"
        "If nobody acknowledges it in time, it goes to the next person on the list.\n")
    _deliver(config, message)


def reminder_email(config: Config, to: str, notice: Notice) -> EmailMessage:
    """An overdue alert, again: its reference, service and how long it has waited, and the link. Nothing else."""
    message = EmailMessage()
    message["Subject"] = f"Overdue: casefeedback alert {notice.reference}"
    message["From"] = config.smtp_from
    message["To"] = to
    message["Message-ID"] = make_msgid(domain="casefeedback")
    message.set_content(
        f"An alert has not been acknowledged in time. A person is waiting.\n\nReference: {notice.reference}\n"
        f"Service: {notice.service}\nOverdue by: {notice.overdue or 'now'}\n\n"
        f"Sign in to see it and acknowledge it, or make sure someone does:\n{notice.link}\n\n"
        "You will be reminded again until someone acknowledges it.\n")
    return message


def send_plain_email(config: Config, to: str, subject: str, body: str) -> None:
    """A short plain notice about the account itself (never about an alert or a case); DeliveryFailed if not sent."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config.smtp_from
    message["To"] = to
    message["Message-ID"] = make_msgid(domain="casefeedback")
    message.set_content(body)
    _deliver(config, message)


def _deliver(config: Config, message: EmailMessage) -> None:
    try:
        with _connect(config) as server:
            if config.smtp_username and config.smtp_password:
                server.login(config.smtp_username, config.smtp_password)
            server.send_message(message)
    except smtplib.SMTPRecipientsRefused:
        raise DeliveryFailed("recipient refused") from None
    except smtplib.SMTPServerDisconnected as error:
        # smtplib reports a read timeout as a disconnection; the words are smtplib's, never the server's.
        raise DeliveryFailed("timed out" if "timed out" in str(error) else "connection dropped") from None
    except smtplib.SMTPResponseException as error:
        raise DeliveryFailed(f"smtp {error.smtp_code}") from None
    except TimeoutError:
        raise DeliveryFailed("timed out") from None
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryFailed(f"connection failed ({type(error).__name__})") from None


def _connect(config: Config) -> smtplib.SMTP:
    host, port, timeout = config.smtp_host or "", config.smtp_port, config.smtp_timeout
    if config.smtp_security == "ssl":
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    server = smtplib.SMTP(host, port, timeout=timeout)
    if config.smtp_security == "starttls":
        # Refuse to go on in clear if the server does not offer TLS: a downgrade
        # would send the credentials (and the alert's existence) in plain text.
        server.starttls(context=ssl.create_default_context())
    return server


def webhook_body(notice: Notice) -> bytes:
    return json.dumps({"event": notice.event, "reference": notice.reference, "severity": notice.severity,
                       "service": notice.service, "deadline": notice.deadline.isoformat() if notice.deadline else None,
                       "link": notice.link}, sort_keys=True).encode("utf-8")


def secret_text(secret: bytes) -> str:
    """The webhook key as receivers' verifiers take it: ``whsec_`` and the key in base64 (the same 32 bytes)."""
    return SECRET_PREFIX + base64.b64encode(secret).decode("ascii")


def message_id(body: bytes) -> str:
    """A message's ``webhook-id`` when the caller has none: the same body sent again is the same message.

    Standard Webhooks asks for an id that stays the same on every retry, so a
    receiver can drop a repeat; a digest of the body is exactly that.
    """
    return "msg_" + hashlib.sha256(body).hexdigest()[:32]


def signed_headers(secret: bytes, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers: HMAC-SHA256 over ``id.timestamp.body``, by the ``standardwebhooks``
    library itself, so what we send is what every off-the-shelf verifier checks."""
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body.decode("utf-8"))
    return {ID_HEADER: msg_id, TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature}


def send_webhook(config: Config, notice: Notice, now: int, msg_id: str | None = None) -> None:
    """``msg_id``: the outbox row's id, the same on every retry of this notification."""
    if not config.alert_webhook_url:
        raise DeliveryFailed("webhook not configured")
    post_signed(config, config.alert_webhook_url, webhook_body(notice), now, msg_id)


def post_signed(config: Config, url: str, body: bytes, now: int, msg_id: str | None = None) -> None:
    """POST ``body`` signed with the webhook key (the alert webhook, alarms, the audit log's remote witness)."""
    secret = config.secrets.webhook
    if secret is None:
        raise DeliveryFailed("webhook not configured")
    if not url.startswith(("https://", "http://")):
        raise DeliveryFailed("webhook address is not http(s)")
    headers = {"Content-Type": "application/json",
               **signed_headers(secret.value, msg_id or message_id(body), now, body)}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 (scheme checked)
    try:
        with urllib.request.urlopen(request, timeout=config.smtp_timeout) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as error:
        raise DeliveryFailed(f"http {error.code}") from None
    except TimeoutError:
        raise DeliveryFailed("timed out") from None
    except (urllib.error.URLError, OSError) as error:
        raise DeliveryFailed(f"connection failed ({type(error).__name__})") from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"http {status}")
