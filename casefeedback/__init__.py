"""casefeedback: trauma-informed, encrypted feedback for high-stakes public services."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, Flask
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from casefeedback.clock import Clock, system_clock
from casefeedback.config import Config
from casefeedback.policy import PolicySet, load_policies

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = PROJECT_ROOT / "templates"
STATIC = Path(__file__).resolve().parent / "static"


def create_app(config: Config | None = None, *, clock: Clock = system_clock,
               policies: PolicySet | None = None) -> Flask:
    """Build an application. Refuses to return one on an invalid policy, a wrong key or an old schema."""
    from casefeedback import labels, language, ratelimit, security, wording
    from casefeedback.auth.blueprint import install_login
    from casefeedback.instance import keep_files_private
    from casefeedback.logs import configure_logging
    from casefeedback.operations import requests as request_ids
    from casefeedback.services import build_services

    keep_files_private()  # before the first file: the database, its WAL and the log are 0600
    config = config or Config.from_environment()
    configure_logging(config)
    app = Flask(__name__, template_folder=str(TEMPLATES), static_folder=str(STATIC))
    app.config.update(
        SECRET_KEY=config.secrets.session.value,
        DEBUG=config.debug,
        TESTING=config.env == "testing",
        MAX_CONTENT_LENGTH=config.max_request_bytes,
        MAX_FORM_MEMORY_SIZE=config.max_request_bytes,
        # __Host- binds the cookie to this exact origin (Secure, Path=/, no Domain).
        SESSION_COOKIE_NAME="__Host-casefeedback" if config.secure_cookies else "casefeedback",
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=config.secure_cookies,
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=3600 * 4,  # a person may take their time over a form
        # Flask-WTF's HTTPS check demands a same-origin Referer, which our
        # Referrer-Policy: no-referrer means browsers never send: every form would
        # fail in production. The token, the __Host- cookie (which no subdomain or
        # plain-HTTP page can plant) and SameSite=Strict already stop forged posts.
        WTF_CSRF_SSL_STRICT=False,
    )
    app.extensions["casefeedback"] = build_services(config, policies or load_policies(config.policies_dir), clock)
    request_ids.install(app)  # first: every request gets its id and timing before any other hook answers
    CSRFProtect(app)
    ratelimit.install(app, app.extensions["casefeedback"], production=config.is_production)
    install_login(app, LoginManager(app))
    security.install(app, secure=config.secure_cookies)
    language.install(app)
    wording.install(app)
    labels.install(app)
    for blueprint in _blueprints():
        app.register_blueprint(blueprint)
    app.add_url_rule("/health", "health", lambda: {"status": "ok"})
    logging.getLogger(__name__).info("casefeedback started (%s)", config.env)
    return app


def _blueprints() -> list[Blueprint]:
    """One blueprint per audience, in the order they are registered."""
    from casefeedback.admin.views import bp as admin_bp
    from casefeedback.alerts.views import bp as alerts_bp
    from casefeedback.api.views import bp as api_bp
    from casefeedback.audit.views import bp as auditor_bp
    from casefeedback.auth.views import bp as auth_bp
    from casefeedback.casework.views import bp as casework_bp
    from casefeedback.insight.views import bp as insight_bp
    from casefeedback.intake.views import bp as intake_bp
    from casefeedback.intake.views import front_bp
    from casefeedback.operations.views import bp as operations_bp
    from casefeedback.receipts.views import bp as receipts_bp
    from casefeedback.records.views import bp as records_bp

    return [front_bp, intake_bp, auth_bp, casework_bp, receipts_bp, admin_bp, auditor_bp, insight_bp, alerts_bp,
            api_bp, records_bp, operations_bp]
