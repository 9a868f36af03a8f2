"""The channels a notification leaves by: email over SMTP and a signed webhook.

A notification carries NO sensitive content: only the alert's reference,
severity, service, acknowledgement deadline and a link to sign in and see it.
An email passes through servers we do not control and sits in inboxes on
phones; a webhook lands in another organisation's duty system. Neither may
hold a word the person wrote, nor even which question raised the alert.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from casefeedback.config import Config

SIGNATURE_HEADER = "X-Casefeedback-Signature"
TIMESTAMP_HEADER = "X-Casefeedback-Timestamp"
# A receiver must refuse a webhook whose timestamp is further than this from its
# own clock (SECURITY.md, "Alert webhooks"): a captured request cannot be replayed later.
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


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>." + body, hex, prefixed "sha256=" (like GitHub's and Stripe's)."""
    return "sha256=" + hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: bytes, timestamp: str, body: bytes, signature: str, now: int) -> bool:
    """What a receiver does: a fresh timestamp and a matching signature (constant-time)."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def send_webhook(config: Config, notice: Notice, now: int) -> None:
    if not config.alert_webhook_url:
        raise DeliveryFailed("webhook not configured")
    post_signed(config, config.alert_webhook_url, webhook_body(notice), now)


def post_signed(config: Config, url: str, body: bytes, now: int) -> None:
    """POST ``body`` signed with the webhook key (the alert webhook, the audit log's remote witness)."""
    secret = config.secrets.webhook
    if secret is None:
        raise DeliveryFailed("webhook not configured")
    if not url.startswith(("https://", "http://")):
        raise DeliveryFailed("webhook address is not http(s)")
    request = urllib.request.Request(url, data=body, method="POST", headers={  # noqa: S310 (scheme checked above)
        "Content-Type": "application/json", TIMESTAMP_HEADER: str(now),
        SIGNATURE_HEADER: sign(secret.value, now, body)})
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
