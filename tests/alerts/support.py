"""A real SMTP server (aiosmtpd) and a real HTTP receiver on loopback, and an app wired to both."""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import alert_recipients, alerts


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server accepted, and how it should misbehave."""

    messages: list[tuple[list[str], bytes]] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)  # recipients refused with 550
    drop: bool = False  # close the connection in the middle of DATA
    stall: float = 0.0  # seconds to wait before answering DATA (a timeout)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          options: Any) -> str:
        if address in self.reject:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.stall:
            await asyncio.sleep(self.stall)
        if self.drop:
            server.transport.close()
            return "421 going away"
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted"

    def to(self, address: str) -> list[Message]:
        return [message_from_bytes(raw) for rcpts, raw in self.messages if address in rcpts]

    def raw(self) -> bytes:
        return b"\n".join(raw for _r, raw in self.messages)


class SMTPServer:
    """aiosmtpd on a fixed loopback port, so it can be stopped ("down") and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        """A header by name, whatever its case on the wire (urllib sends ``Webhook-id``)."""
        return {key.lower(): value for key, value in self.headers.items()}[name.lower()]


class Receiver:
    """A duty system's webhook endpoint: records every POST, answers ``status``.

    With ``secret`` set (``whsec_…``) it checks each request as any receiver would, with the
    ``standardwebhooks`` library's own verifier, and answers 401 to one that fails (kept in ``refused``).
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refused: list[Received] = []
        self.status = 204
        self.secret: str | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = Received(dict(self.headers.items()), body)
                status = outer.status
                try:
                    if outer.secret is not None:
                        Webhook(outer.secret).verify(body, request.headers)
                    outer.received.append(request)
                except WebhookVerificationError:
                    outer.refused.append(request)
                    status = 401
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/duty"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def signed_by(secret: bytes, request: Received) -> bool:
    """The request's Standard Webhooks signature is ``secret``'s over its id, timestamp and body.

    The library's ``verify`` also checks the timestamp against the real clock; tests on a
    controlled clock check the signature at the time it claims, and freshness apart.
    """
    at = datetime.fromtimestamp(int(request.header("webhook-timestamp")), UTC)
    expected = Webhook(secret).sign(request.header("webhook-id"), at, request.body.decode("utf-8"))
    return expected in request.header("webhook-signature").split(" ")


def told(found: Services, alert_id: str) -> list[tuple[str, int, str]]:
    """(staff id, step, relation) of everyone told of an alert, in order."""
    with read(found.engine) as connection:
        return [(r.staff_id, r.step, r.relation) for r in connection.execute(
            select(alert_recipients).where(alert_recipients.c.alert_id == alert_id)
            .order_by(alert_recipients.c.step, alert_recipients.c.staff_id)).all()]


def all_alerts(found: Services) -> list[Any]:
    with read(found.engine) as connection:
        return list(connection.execute(select(alerts).order_by(alerts.c.raised_at)).all())


def log_text(found: Services) -> str:
    path: Path | None = found.config.log_path
    return path.read_text(encoding="utf-8", errors="replace") if path and path.exists() else ""
