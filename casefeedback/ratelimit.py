"""Rate limits (Flask-Limiter): one limiter for the app; views declare their own limits.

The counters live in the application's own database by default
(``casefeedback-db://``, storage/ratelimits.py), so every gunicorn worker counts
against the same limit and the documented numbers hold exactly, on one host
with nothing but python3. Several hosts share a Redis instead: set
CASEFEEDBACK_RATELIMIT_STORAGE (e.g. ``redis://...``), which replaces the default.

Fail closed: if the counters cannot be read or written, the request fails
(the application's own error page, 500) rather than passing unlimited; there
is no fallback to per-process memory and errors are never swallowed.

Behind a reverse proxy every request comes from the proxy's address; set
CASEFEEDBACK_TRUSTED_PROXIES to the number of proxies in front of the app so the
client address is taken from X-Forwarded-For (werkzeug's ProxyFix), or every
person shares one limit.

CASEFEEDBACK_RATELIMIT_ENABLED=0 turns limits off: only for load benchmarks,
which send thousands of requests from one address; refused in production.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from casefeedback.storage.ratelimits import SCHEME

if TYPE_CHECKING:
    from casefeedback.services import Services

limiter = Limiter(
    key_func=get_remote_address, default_limits=[], headers_enabled=False,
    # The documented limits are fixed windows ("10 a minute"), the one strategy
    # the database storage implements.
    strategy="fixed-window",
    # Pinned here, not left to configuration: a limiter that lets every request
    # through when its store fails (swallowed errors, or a fallback to memory
    # that each worker keeps apart) is the weakness the limits exist to close.
    swallow_errors=False, in_memory_fallback_enabled=False,
)


# The final "Send" of a feedback form: generous for people on a shared address
# (a refuge, a library), tight enough to stop a script flooding the store.
INTAKE_SEND_LIMIT = "30 per minute;500 per hour"


def install(app: Flask, found: Services, *, production: bool = False) -> None:
    storage = found.config.ratelimit_storage or os.environ.get("CASEFEEDBACK_RATELIMIT_STORAGE") or f"{SCHEME}://"
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage)
    if app.config["RATELIMIT_STORAGE_URI"].startswith(f"{SCHEME}:"):
        # limits builds its storage from a URI, which cannot hold the database
        # key; the storage gets the engine this app opened (with its writer lock).
        # The limiter is one per process (views are decorated at import), so it
        # counts in the database of the app made last: gunicorn makes one per worker.
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {
            "engine": found.engine, "lookup_key": found.config.secrets.lookup.value, "clock": found.clock})
    enabled = os.environ.get("CASEFEEDBACK_RATELIMIT_ENABLED", "1").lower() not in ("0", "false", "no", "off")
    app.config.setdefault("RATELIMIT_ENABLED", enabled or production)
    proxies = int(os.environ.get("CASEFEEDBACK_TRUSTED_PROXIES", "0") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    limiter.init_app(app)
