"""Telling the people who must act, now, when something the worker does on its own has failed.

The auditors' alarm (``audit/watch.py``) and the administrators' (a scheduled
backup, prune or key rotation that failed) share one shape: an email to every
enabled member of the role with an address, and the alert webhook; said again
no more than hourly while the same problem lasts; its state in a small file
outside the database, so a database rolled back or replaced cannot forget it.
The words say what failed and what to do — never any content.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from casefeedback.config import Config
from casefeedback.storage.engine import read
from casefeedback.storage.tables import staff

log = logging.getLogger(__name__)
REPEAT = timedelta(hours=1)
Send = Callable[[Config, str, str, str], None]


@dataclass(frozen=True)
class Alarm:
    role: str  # who is told: "administrator", "auditor"
    state: Path  # where it remembers what it said and when (outside the database)
    event: str  # the webhook's event name, e.g. "backup.failed"
    subject: str
    action: str | None = None  # what the receiver of the webhook should do, in a few words


@dataclass(frozen=True)
class Raised:
    problem: str
    since: str


def raise_alarm(config: Config, engine: Engine, alarm: Alarm, problem: str, body: str, now: datetime,
                send: Send | None = None) -> str:
    """Tell ``alarm.role`` now (email, and the alert webhook), and again every hour while it lasts."""
    log.error("%s: %s", alarm.event, problem)
    digest = hashlib.sha256(problem.encode()).hexdigest()
    state = _read(alarm.state)
    if state.get("problem") == digest and now - datetime.fromisoformat(str(state["sent"])) < REPEAT:
        return f"ALARM ({alarm.role}s already told): {problem}"
    told = 0
    for address in addresses(engine, alarm.role):
        if config.smtp_host is None:
            break
        try:
            (send or _send_email)(config, address, alarm.subject, body)
            told += 1
        except Exception as error:  # one failed address must not stop the others
            log.error("%s email not sent: %s", alarm.event, type(error).__name__)
    webhook = _webhook(config, alarm, now)
    _write(alarm.state, {"problem": digest, "text": problem, "sent": now.isoformat(),
                         "first": state.get("first") if state.get("problem") == digest else now.isoformat()})
    return f"ALARM: {problem} ({told} {alarm.role}(s) emailed{webhook})"


def raised(alarm: Alarm) -> Raised | None:
    """The alarm raised and not yet seen mended (None: all is well)."""
    state = _read(alarm.state)
    if not state.get("text"):
        return None
    return Raised(str(state["text"]), str(state.get("first") or state.get("sent")))


def clear(alarm: Alarm) -> None:
    try:
        alarm.state.unlink()
    except FileNotFoundError:
        pass
    except OSError as error:
        log.error("alarm state not cleared: %s", error.strerror)


def addresses(engine: Engine, role: str) -> list[str]:
    try:
        with read(engine) as connection:
            return [a for a in connection.execute(select(staff.c.email).where(
                staff.c.role == role, staff.c.enabled.is_(True), staff.c.email.is_not(None))).scalars() if a]
    except Exception:  # a broken database must not stop the alarm being logged
        log.error("alarm: the %ss' addresses could not be read", role)
        return []


def _send_email(config: Config, to: str, subject: str, body: str) -> None:
    from casefeedback.alerts.channels import send_plain_email

    send_plain_email(config, to, subject, body)


def _webhook(config: Config, alarm: Alarm, now: datetime) -> str:
    if not config.alert_webhook_url or config.secrets.webhook is None:
        return ""
    from casefeedback.audit.remote import RemoteWitnessFailed, post_signed

    said = {"event": alarm.event, "severity": "urgent", "at": now.isoformat()}
    body = json.dumps(said | ({"action": alarm.action} if alarm.action else {}), sort_keys=True).encode()
    try:
        post_signed(config, config.alert_webhook_url, body, int(now.timestamp()))
    except RemoteWitnessFailed as failed:
        return f"; webhook failed ({failed.kind})"
    return "; webhook sent"


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, state: dict[str, object]) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        os.replace(temporary, path)
    except OSError as error:
        log.error("alarm state not saved: %s", error.strerror)
