"""Server-side staff sessions.

The browser holds only a random token inside Flask's signed cookie; the
authority is a row here. Deleting the row ends the session at once — on
sign-out, when an account is disabled, or when its password changes — and a
replayed old cookie finds nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from casefeedback.storage.tables import staff, staff_sessions

IDLE_TIMEOUT = timedelta(minutes=15)
ABSOLUTE_TIMEOUT = timedelta(hours=8)
# Recording every request's time would make every page view a write; a
# minute's resolution is plenty for a 15-minute idle timeout.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class StaffMember:
    id: str
    username: str
    display_name: str
    role: str
    team_id: str | None


def token_hash(token: str) -> str:
    # The token is 256 random bits, so a plain hash suffices: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(connection: Connection, staff_id: str, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    connection.execute(insert(staff_sessions).values(
        token_hash=token_hash(token), staff_id=staff_id, created_at=now, last_seen_at=now))
    return token


def load_session(connection: Connection, token: str, now: datetime) -> StaffMember | None:
    row = connection.execute(
        select(staff_sessions, staff.c.username, staff.c.display_name, staff.c.role, staff.c.team_id,
               staff.c.enabled)
        .join(staff, staff.c.id == staff_sessions.c.staff_id)
        .where(staff_sessions.c.token_hash == token_hash(token))
    ).first()
    if row is None:
        return None
    if _expired(row._mapping, now) or not row.enabled:
        connection.execute(delete(staff_sessions).where(staff_sessions.c.token_hash == row.token_hash))
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        connection.execute(update(staff_sessions).where(staff_sessions.c.token_hash == row.token_hash)
                           .values(last_seen_at=now))
    return StaffMember(row.staff_id, row.username, row.display_name, row.role, row.team_id)


def _expired(row: Any, now: datetime) -> bool:
    return bool(now - row["last_seen_at"] > IDLE_TIMEOUT or now - row["created_at"] > ABSOLUTE_TIMEOUT)


def end_session(connection: Connection, token: str) -> None:
    connection.execute(delete(staff_sessions).where(staff_sessions.c.token_hash == token_hash(token)))


def end_all_sessions(connection: Connection, staff_id: str) -> int:
    return connection.execute(delete(staff_sessions).where(staff_sessions.c.staff_id == staff_id)).rowcount
