"""What the load benchmarks do by hand: one request, a form's CSRF token, a session cookie, a prepared session.

Shared by submit.py (casefeedback's journey) and peer.py (the conventional
peer's), so each prepares sessions the same way before a timed run.
"""

from __future__ import annotations

import http.client
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from common import BenchError, LoadSpec
from load import Request, Result

# Prepare 60 % more sessions than the warm-up rate suggests: a warmed-up server
# runs faster than during the warm-up, and preparing costs far less than submitting.
SESSION_MARGIN = 1.6
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Session:
    """One person's journey up to the final POST: their session cookie and CSRF token."""

    cookie: str
    csrf_token: str


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _cookies_after(response: http.client.HTTPResponse, current: str) -> str:
    """The Cookie header a browser would send next: ``current`` with this response's cookies set or removed.

    Besides the session, casefeedback sets a mark on the way in (intake/arrival.py) that its
    pages ask for; a cookie set empty or with Max-Age=0 is one the app removed.
    """
    jar = dict(pair.split("=", 1) for pair in current.split("; ") if "=" in pair)
    for header in response.headers.get_all("Set-Cookie") or []:
        pair, *attributes = header.split(";")
        name, _, value = pair.strip().partition("=")
        if not value or any(a.strip().lower() == "max-age=0" for a in attributes):
            jar.pop(name, None)
        else:
            jar[name] = value
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def _exchange(port: int, method: str, path: str, cookie: str, body: str | None = None,
              ) -> tuple[int, str, str, str | None]:
    """One request; return (status, body text, the cookies after it, Location if any)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Cookie": cookie} if cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", errors="replace")
        return response.status, text, _cookies_after(response, cookie), response.getheader("Location")
    finally:
        connection.close()


def _csrf(page: str, where: str) -> str:
    match = CSRF.search(page)
    if not match:
        raise BenchError(f"no CSRF token in {where}")
    return match.group(1) or match.group(2)


def _location(status: int, location: str | None, where: str) -> str:
    """The path a 303 leads to (the app's next page)."""
    if status != 303 or not location:
        raise BenchError(f"{where} answered {status} (expected 303 to the next page)")
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def final_posts(sessions: Sequence[Session]) -> list[Request]:
    """The final "Send" of each session: the answers are already on the server, so the body is the token alone."""
    return [Request(body=urlencode({"csrf_token": s.csrf_token}), cookie=s.cookie) for s in sessions]


def smoke_test(port: int, path: str, request: Request) -> None:
    """One request by hand before the load: a broken setup fails here, in words, not as 100 % errors."""
    status, page, _, _ = _exchange(port, "POST", path, request.cookie, request.body)
    if status != 200 or "receipt-code" not in page:
        raise BenchError(f"a single POST {path} answered {status} without a receipt code; "
                         "the benchmark would only measure errors")


def sessions_needed(warmup: Result, spec: LoadSpec, margin: float = SESSION_MARGIN) -> int:
    return math.ceil(max(warmup.rps, 1.0) * spec.duration_s * margin) + 4 * spec.connections
