"""A stand-in for GOV.UK Notify on loopback: the part of its API the Python client uses to send a text.

It checks what Notify checks — the client's bearer token (a JWT signed with the
API key's secret, issued by the key's service, fresh within 30 seconds), the
template and the number — records every message it accepts, and answers the
errors Notify answers (400, 403, 429, 500) when a test asks it to.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

SERVICE_ID = str(uuid.uuid4())
SECRET = str(uuid.uuid4())
API_KEY = f"casefeedback_test-{SERVICE_ID}-{SECRET}"
ALERT_TEMPLATE = str(uuid.uuid4())
INVITATION_TEMPLATE = str(uuid.uuid4())
_MOBILE = re.compile(r"^\+447\d{9}$")
ERRORS = {400: ("BadRequestError", "Can't send to this recipient using a team-only API key"),
          403: ("AuthError", "Invalid token: API key not found"),
          429: ("RateLimitError", "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"),
          500: ("Exception", "Internal server error")}


@dataclass
class Sent:
    phone_number: str
    template_id: str
    body: str
    reference: str | None
    raw: bytes


@dataclass
class NotifyStandIn:
    sent: list[Sent] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (status, why)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer, one per request, before accepting

    def __post_init__(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, answer = outer.handle(self.path, self.headers.get("Authorization", ""), raw)
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, path: str, authorization: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        if path != "/v2/notifications/sms":
            return self._error(404, "ResourceNotFound", "Not found")
        problem = _token_problem(authorization)
        if problem:
            return self._error(403, "AuthError", problem)
        if self.fail_next:
            status = self.fail_next.pop(0)
            return self._error(status, *ERRORS[status])
        try:
            request = json.loads(raw)
        except ValueError:
            return self._error(400, "ValidationError", "Invalid JSON")
        if request.get("template_id") not in (ALERT_TEMPLATE, INVITATION_TEMPLATE):
            return self._error(400, "BadRequestError", "Template not found")
        if not _MOBILE.match(str(request.get("phone_number", ""))):
            return self._error(400, "ValidationError", "phone_number Not a UK mobile number")
        body = str((request.get("personalisation") or {}).get("body", ""))
        if not body:
            return self._error(400, "BadRequestError", "Missing personalisation: body")
        notification = str(uuid.uuid4())
        self.sent.append(Sent(request["phone_number"], request["template_id"], body, request.get("reference"), raw))
        return 201, {"id": notification, "reference": request.get("reference"),
                     "content": {"body": body, "from_number": "GOVUK"},
                     "uri": f"{self.url}/v2/notifications/{notification}",
                     "template": {"id": request["template_id"], "version": 1,
                                  "uri": f"{self.url}/v2/template/{request['template_id']}"}}

    def _error(self, status: int, kind: str, message: str) -> tuple[int, dict[str, Any]]:
        self.refused.append((status, message))
        return status, {"status_code": status, "errors": [{"error": kind, "message": message}]}

    def texts_to(self, number: str) -> list[str]:
        return [s.body for s in self.sent if s.phone_number == number]


def _token_problem(authorization: str) -> str | None:
    """Why Notify would refuse this bearer token; None when it would accept it."""
    scheme, _, token = authorization.partition(" ")
    if scheme != "Bearer" or not token:
        return "Unauthorized: authentication token must be provided"
    try:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"require": ["iss", "iat"],
                                                                          "verify_iat": False})
    except jwt.InvalidTokenError:
        return "Invalid token: signature, api token not found"
    if claims["iss"] != SERVICE_ID:
        return "Invalid token: service not found"
    if abs(time.time() - int(claims["iat"])) > 30:
        return "Error: Your system clock must be accurate to within 30 seconds"
    return None
