"""Rate limits (Flask-Limiter): one limiter for the app; views declare their own limits.

Storage defaults to memory, which is per process: with N gunicorn workers an
attacker gets at most N times the limit. Set CASEFEEDBACK_RATELIMIT_STORAGE to a
shared store (e.g. ``redis://...``) in production to make limits exact.
"""

from __future__ import annotations

import os

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)


def install(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", os.environ.get("CASEFEEDBACK_RATELIMIT_STORAGE", "memory://"))
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
