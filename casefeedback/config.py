"""The application's configuration: typed, frozen, read once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from casefeedback.instance import SecretError, Secrets, load_secrets, production_problems
from casefeedback.storage.engine import Store

Environment = Literal["development", "production", "testing"]
ENVIRONMENTS: tuple[str, ...] = ("development", "production", "testing")
TRUE_WORDS = ("1", "true", "yes", "on")


class ConfigError(Exception):
    """The configuration cannot be used. The message names the problem and the fix."""


@dataclass(frozen=True)
class Config:
    env: Environment
    instance_dir: Path
    policies_dir: Path
    secrets: Secrets
    debug: bool = False
    # Browsers accept Secure cookies on http://localhost, but the Werkzeug test
    # client and some proxies in development do not; production always sets it.
    secure_cookies: bool = True
    # Big enough for the longest policy answer set; a body beyond it is refused with 413.
    max_request_bytes: int = 64 * 1024
    log_path: Path | None = None
    # --- alerts: how notifications leave the building. Off unless set. ---
    # Email over SMTP: host None means no email (the in-app inbox still works).
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_from: str = "casefeedback@localhost"
    smtp_timeout: float = 10.0
    # A duty system's webhook: None means none. Signed with the ``webhook`` secret.
    alert_webhook_url: str | None = None
    # The address staff reach the application on, for links in notifications.
    public_url: str = "http://127.0.0.1:5000"
    # SMS through GOV.UK Notify (alerts/sms.py): off unless the API key (a secret, ``notify-api.key``)
    # and a template are set. Each template is a Notify SMS template whose body is ``((body))``.
    # The base URL is Notify's own unless a test points it at a stand-in on loopback.
    notify_base_url: str = "https://api.notifications.service.gov.uk"
    notify_alert_template: str | None = None
    notify_invitation_template: str | None = None
    notify_timeout: float = 10.0
    # The licence an insight export declares (docs/insight-export.md): an Open Definition id or an address.
    insight_licence: str = "OGL-UK-3.0"
    # --- the audit log's witnesses (audit/witness.py) ---
    # An append-only file of signed checkpoints kept OUTSIDE the database's
    # directory: someone who can replace or cut the database file must also find
    # and rewrite this to hide it. None: beside the instance (``witness_path``).
    audit_witness: Path | None = None
    # A remote witness: each signed checkpoint is POSTed here, signed like the
    # alert webhooks. None: no remote witness.
    audit_witness_url: str | None = None
    # --- scheduled backups (backup/schedule.py); cadence and keep are in the organisation policy ---
    # Where the worker writes its backups (None: ``<instance>/backups``), and an optional second
    # location, e.g. a mounted directory on another disk or host, that each backup is copied to.
    backup_dir: Path | None = None
    backup_mirror: Path | None = None
    # Where rate-limit counters live (CASEFEEDBACK_RATELIMIT_STORAGE); None: the application's own database.
    # Kept out of repr: a redis:// URL may carry a password.
    ratelimit_storage: str | None = field(default=None, repr=False)
    # --- the database (storage/engine.py open_store) ---
    # None: the encrypted SQLCipher file in the instance. A ``postgresql+psycopg://`` URL: that PostgreSQL
    # database instead (CASEFEEDBACK_DATABASE_URL). Kept out of repr: the URL may carry a password.
    database_url: str | None = field(default=None, repr=False)
    # PostgreSQL only: a statement running longer, or a wait for a lock longer, fails instead of holding a
    # pooled connection and making people wait (seconds; 0 = no limit).
    database_statement_timeout: float = 30.0
    database_lock_timeout: float = 5.0
    # --- /metrics (operations/metrics.py): answered only with this bearer token (CASEFEEDBACK_METRICS_TOKEN,
    # at least 32 characters) or to a client address in these networks (CASEFEEDBACK_METRICS_ALLOW, e.g.
    # "127.0.0.1/32,10.0.0.0/8"); to anyone else it does not exist (404). Neither set: nobody.
    metrics_token: str | None = field(default=None, repr=False)
    metrics_allow: tuple[IPv4Network | IPv6Network, ...] = ()

    @property
    def store(self) -> Store:
        """Which store this instance uses, and how to open it."""
        return Store(path=self.database_path, key=self.secrets.database.value, key_file=self.secrets.database.path,
                     url=self.database_url, statement_timeout_ms=round(self.database_statement_timeout * 1000),
                     lock_timeout_ms=round(self.database_lock_timeout * 1000))

    @property
    def backup_path(self) -> Path:
        return self.backup_dir if self.backup_dir is not None else self.instance_dir / "backups"

    @property
    def witness_path(self) -> Path:
        """The witness file: the setting, or ``<instance>-witness/audit-witness.jsonl`` beside the instance."""
        if self.audit_witness is not None:
            return self.audit_witness
        return self.instance_dir.parent / f"{self.instance_dir.name}-witness" / "audit-witness.jsonl"

    @property
    def database_path(self) -> Path:
        return self.instance_dir / "casefeedback.db"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Config:
        env_vars = os.environ if environ is None else environ
        env = env_vars.get("CASEFEEDBACK_ENV", "development")
        if env not in ENVIRONMENTS:
            raise ConfigError(f"CASEFEEDBACK_ENV={env!r} is not one of: {', '.join(ENVIRONMENTS)}")
        instance = Path(env_vars.get("CASEFEEDBACK_INSTANCE", "instance")).resolve()
        try:
            loaded = load_secrets(instance, env_vars)
        except SecretError as error:
            raise ConfigError(str(error)) from None
        config = cls(
            env=env,  # type: ignore[arg-type]  # checked against ENVIRONMENTS above
            instance_dir=instance,
            policies_dir=Path(env_vars.get("CASEFEEDBACK_POLICIES", "policies")).resolve(),
            secrets=loaded,
            debug=env_vars.get("CASEFEEDBACK_DEBUG", "").lower() in TRUE_WORDS,
            secure_cookies=env == "production" or env_vars.get("CASEFEEDBACK_SECURE_COOKIES", "") in TRUE_WORDS,
            log_path=instance / "logs" / "casefeedback.log",
            audit_witness=Path(env_vars["CASEFEEDBACK_AUDIT_WITNESS"]).resolve()
            if env_vars.get("CASEFEEDBACK_AUDIT_WITNESS") else None,
            audit_witness_url=env_vars.get("CASEFEEDBACK_AUDIT_WITNESS_URL") or None,
            backup_dir=Path(env_vars["CASEFEEDBACK_BACKUP_DIR"]).resolve()
            if env_vars.get("CASEFEEDBACK_BACKUP_DIR") else None,
            backup_mirror=Path(env_vars["CASEFEEDBACK_BACKUP_MIRROR"]).resolve()
            if env_vars.get("CASEFEEDBACK_BACKUP_MIRROR") else None,
            ratelimit_storage=env_vars.get("CASEFEEDBACK_RATELIMIT_STORAGE") or None,
            **_alert_settings(env_vars),
            **_database_settings(env_vars),
            **_metrics_settings(env_vars),
        )
        config.check()
        return config

    def check(self) -> None:
        """Refuse unsafe production settings, naming every problem at once."""
        if self.witness_path.resolve().is_relative_to(self.database_path.parent.resolve()):
            # A witness inside the database's directory goes wherever the database
            # goes: a copy or a rollback of that directory would take it along.
            raise ConfigError(f"the audit witness ({self.witness_path}) must be outside the database's directory "
                              f"({self.database_path.parent}): set CASEFEEDBACK_AUDIT_WITNESS to another place")
        if not self.is_production:
            return
        problems = production_problems(self.secrets)
        if self.debug:
            problems.append("debug is on (CASEFEEDBACK_DEBUG): it must be off in production")
        if not self.secure_cookies:
            problems.append("secure cookies are off: production serves only over HTTPS")
        if (self.ratelimit_storage or "").lower().startswith(("memory:", "async+memory:")):
            # Each gunicorn worker, and each instance behind a load balancer, would count on its own:
            # the documented limits (sign-in, codes, sends) would be multiplied by their number.
            problems.append("rate limits are kept in each process's memory (CASEFEEDBACK_RATELIMIT_STORAGE="
                            "memory://), so they do not hold across workers or instances: leave it unset (the "
                            "database keeps them) or point it at a shared redis://")
        if problems:
            raise ConfigError("refusing to start in production:\n  - " + "\n  - ".join(problems))


POSTGRES_DRIVERS = ("postgresql", "postgresql+psycopg")


def _database_settings(env_vars: Mapping[str, str]) -> dict[str, Any]:
    """CASEFEEDBACK_DATABASE_URL and the PostgreSQL timeouts; unset, the SQLCipher file in the instance."""
    raw = env_vars.get("CASEFEEDBACK_DATABASE_URL", "").strip()
    url = None
    if raw:
        try:
            parsed = make_url(raw)
        except ArgumentError:
            raise ConfigError("CASEFEEDBACK_DATABASE_URL is not a database URL: write it as "
                              "postgresql+psycopg://user:password@host:5432/database") from None
        if parsed.drivername not in POSTGRES_DRIVERS:
            raise ConfigError(f"CASEFEEDBACK_DATABASE_URL names {parsed.drivername!r}: only PostgreSQL through "
                              "psycopg 3 (postgresql+psycopg://…) is supported; unset it for the SQLCipher file")
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    timeouts = {}
    for name, variable, default in (("database_statement_timeout", "CASEFEEDBACK_DATABASE_STATEMENT_TIMEOUT", 30.0),
                                    ("database_lock_timeout", "CASEFEEDBACK_DATABASE_LOCK_TIMEOUT", 5.0)):
        try:
            seconds = float(env_vars.get(variable, default))
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds < 86_400:
            raise ConfigError(f"{variable} must be a number of seconds from 0 (no limit) to 86400")
        timeouts[name] = seconds
    return {"database_url": url, **timeouts}


METRICS_TOKEN_MIN = 32


def _metrics_settings(env_vars: Mapping[str, str]) -> dict[str, Any]:
    """CASEFEEDBACK_METRICS_TOKEN and CASEFEEDBACK_METRICS_ALLOW: who may read /metrics."""
    token = env_vars.get("CASEFEEDBACK_METRICS_TOKEN", "").strip() or None
    if token is not None and len(token) < METRICS_TOKEN_MIN:
        # Never repeat the token: the message goes to a terminal and maybe a log.
        raise ConfigError(f"CASEFEEDBACK_METRICS_TOKEN must be at least {METRICS_TOKEN_MIN} characters "
                          "(make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
    networks = []
    for part in env_vars.get("CASEFEEDBACK_METRICS_ALLOW", "").split(","):
        if not part.strip():
            continue
        try:
            networks.append(ip_network(part.strip()))
        except ValueError:
            raise ConfigError(f"CASEFEEDBACK_METRICS_ALLOW: {part.strip()!r} is not an address or network "
                              "(write e.g. 127.0.0.1/32,10.0.0.0/8)") from None
    return {"metrics_token": token, "metrics_allow": tuple(networks)}


SMTP_SECURITY = ("starttls", "ssl", "none")


def _alert_settings(env_vars: Mapping[str, str]) -> dict[str, Any]:
    """SMTP, webhook and link settings from CASEFEEDBACK_SMTP_* and friends."""
    security = env_vars.get("CASEFEEDBACK_SMTP_SECURITY", "starttls")
    if security not in SMTP_SECURITY:
        raise ConfigError(f"CASEFEEDBACK_SMTP_SECURITY={security!r} is not one of: {', '.join(SMTP_SECURITY)}")
    try:
        port = int(env_vars.get("CASEFEEDBACK_SMTP_PORT", "465" if security == "ssl" else "587"))
        timeout = float(env_vars.get("CASEFEEDBACK_SMTP_TIMEOUT", "10"))
    except ValueError:
        raise ConfigError("CASEFEEDBACK_SMTP_PORT and CASEFEEDBACK_SMTP_TIMEOUT must be numbers") from None
    return {
        "smtp_host": env_vars.get("CASEFEEDBACK_SMTP_HOST") or None,
        "smtp_port": port,
        "smtp_security": security,
        "smtp_username": env_vars.get("CASEFEEDBACK_SMTP_USERNAME") or None,
        "smtp_password": env_vars.get("CASEFEEDBACK_SMTP_PASSWORD") or None,
        "smtp_from": env_vars.get("CASEFEEDBACK_SMTP_FROM", "casefeedback@localhost"),
        "smtp_timeout": timeout,
        "alert_webhook_url": env_vars.get("CASEFEEDBACK_ALERT_WEBHOOK_URL") or None,
        "public_url": env_vars.get("CASEFEEDBACK_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        "notify_base_url": env_vars.get("CASEFEEDBACK_NOTIFY_BASE_URL",
                                        "https://api.notifications.service.gov.uk").rstrip("/"),
        "notify_alert_template": env_vars.get("CASEFEEDBACK_NOTIFY_ALERT_TEMPLATE") or None,
        "notify_invitation_template": env_vars.get("CASEFEEDBACK_NOTIFY_INVITATION_TEMPLATE") or None,
        "insight_licence": env_vars.get("CASEFEEDBACK_INSIGHT_LICENCE") or "OGL-UK-3.0",
    }
