"""Rate limits (Flask-Limiter): one limiter for the app; views declare their own limits.

Storage defaults to memory, which is per process: with N gunicorn workers an
attacker gets at most N times the limit. Set CASEFEEDBACK_RATELIMIT_STORAGE to a
shared store (e.g. ``redis://...``) in production to make limits exact.

Behind a reverse proxy every request comes from the proxy's address; set
CASEFEEDBACK_TRUSTED_PROXIES to the number of proxies in front of the app so the
client address is taken from X-Forwarded-For (werkzeug's ProxyFix), or every
person shares one limit.

CASEFEEDBACK_RATELIMIT_ENABLED=0 turns limits off: only for load benchmarks,
which send thousands of requests from one address; refused in production.
"""

from __future__ import annotations

import os

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)


# The final "Send" of a feedback form: generous for people on a shared address
# (a refuge, a library), tight enough to stop a script flooding the store.
INTAKE_SEND_LIMIT = "30 per minute;500 per hour"


def install(app: Flask, *, production: bool = False) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", os.environ.get("CASEFEEDBACK_RATELIMIT_STORAGE", "memory://"))
    enabled = os.environ.get("CASEFEEDBACK_RATELIMIT_ENABLED", "1").lower() not in ("0", "false", "no", "off")
    app.config.setdefault("RATELIMIT_ENABLED", enabled or production)
    proxies = int(os.environ.get("CASEFEEDBACK_TRUSTED_PROXIES", "0") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    limiter.init_app(app)
