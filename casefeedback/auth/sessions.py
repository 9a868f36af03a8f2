"""Server-side staff sessions.

The browser holds only a random token inside Flask's signed cookie; the
authority is a row here. Deleting the row ends the session at once — on
sign-out, when an account is disabled, or when its password changes — and a
replayed old cookie finds nothing.

How long a session lasts comes from the organisation policy
(``policies/organisation.toml``, ``[staff_sessions]``): an idle timeout, an
absolute timeout, and how recent a re-authentication must be for key operations.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.policy.model import StaffSessionRules
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.tables import sign_in_challenges, staff, staff_sessions

DEFAULT_RULES = StaffSessionRules()
IDLE_TIMEOUT = DEFAULT_RULES.idle_timeout
ABSOLUTE_TIMEOUT = DEFAULT_RULES.absolute_timeout
# Recording every request's time would make every page view a write; a
# minute's resolution is plenty for a 15-minute idle timeout.
TOUCH_EVERY = timedelta(seconds=60)
# Why a session ended that the person did not end themselves: audited, and explained at the next sign-in.
TIMED_OUT = frozenset({"idle", "absolute"})
# Ended by the public pages' "Exit this page" (intake/start.py, ``leave``).
QUICK_EXIT = "quick_exit"


@dataclass(frozen=True)
class StaffMember:
    id: str
    username: str
    display_name: str
    role: str
    team_id: str | None


@dataclass(frozen=True)
class SessionInfo:
    """The times that decide when a session ends, as the server sees them."""

    created_at: datetime
    last_seen_at: datetime
    reauthenticated_at: datetime | None

    def ends_at(self, rules: StaffSessionRules) -> datetime:
        return min(self.last_seen_at + rules.idle_timeout, self.created_at + rules.absolute_timeout)

    def can_extend(self, rules: StaffSessionRules) -> bool:
        """False once the absolute timeout is nearer than the idle one: staying active will not help."""
        return self.last_seen_at + rules.idle_timeout < self.created_at + rules.absolute_timeout

    def recently_confirmed(self, now: datetime, rules: StaffSessionRules) -> bool:
        at = self.reauthenticated_at
        return at is not None and timedelta(0) <= now - at <= rules.reauthenticate_within


@dataclass(frozen=True)
class Lookup:
    """The result of loading a session: the member, or why there is none ("idle", "absolute", "gone")."""

    member: StaffMember | None
    info: SessionInfo | None = None
    ended: str | None = None
    staff_id: str | None = None  # whose session ended, when one did


def token_hash(token: str) -> str:
    # The token is 256 random bits, so a plain hash suffices: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(connection: Connection, staff_id: str, now: datetime) -> str:
    """A new session with a new id. Signing in counts as confirming who one is."""
    token = secrets.token_urlsafe(32)
    connection.execute(insert(staff_sessions).values(
        token_hash=token_hash(token), staff_id=staff_id, created_at=now, last_seen_at=now,
        reauthenticated_at=now))
    return token


def lookup(connection: Connection, token: str, now: datetime,
           rules: StaffSessionRules = DEFAULT_RULES, *, touch: bool = False) -> Lookup:
    """Load a session, ending it if it has run out or its account is disabled.

    ``touch`` records activity now even if it was recorded under a minute ago
    (the person asked to stay signed in).
    """
    row = connection.execute(
        select(staff_sessions, staff.c.username, staff.c.display_name, staff.c.role, staff.c.team_id,
               staff.c.enabled)
        .join(staff, staff.c.id == staff_sessions.c.staff_id)
        .where(staff_sessions.c.token_hash == token_hash(token))
    ).first()
    if row is None:
        return Lookup(None, ended="gone")
    ended = _ended(row._mapping, now, rules)
    if ended or not row.enabled:
        connection.execute(delete(staff_sessions).where(staff_sessions.c.token_hash == row.token_hash))
        return Lookup(None, ended=ended or "gone", staff_id=row.staff_id)
    last_seen = row.last_seen_at
    if touch or now - last_seen >= TOUCH_EVERY:
        connection.execute(update(staff_sessions).where(staff_sessions.c.token_hash == row.token_hash)
                           .values(last_seen_at=now))
        last_seen = now
    member = StaffMember(row.staff_id, row.username, row.display_name, row.role, row.team_id)
    return Lookup(member, SessionInfo(row.created_at, last_seen, row.reauthenticated_at))


def _ended(row: Any, now: datetime, rules: StaffSessionRules) -> str | None:
    if now - row["created_at"] > rules.absolute_timeout:
        return "absolute"
    if now - row["last_seen_at"] > rules.idle_timeout:
        return "idle"
    return None


def mark_reauthenticated(connection: Connection, token: str, now: datetime) -> None:
    connection.execute(update(staff_sessions).where(staff_sessions.c.token_hash == token_hash(token))
                       .values(reauthenticated_at=now, last_seen_at=now))


def end_session(connection: Connection, token: str) -> None:
    connection.execute(delete(staff_sessions).where(staff_sessions.c.token_hash == token_hash(token)))


def end_all_sessions(connection: Connection, staff_id: str) -> int:
    return connection.execute(delete(staff_sessions).where(staff_sessions.c.staff_id == staff_id)).rowcount


# --- what a request asks of its session ---------------------------------------------------------


def rules_of(found: Services) -> StaffSessionRules:
    return found.policies.organisation.staff_sessions


def load_session(found: Services, token: str) -> Lookup:
    """The session behind a request, ended (and the ending audited) if it has run out."""
    with write(found.engine) as connection:
        result = lookup(connection, token, found.clock(), rules_of(found))
        if result.ended in TIMED_OUT:
            found.audit.append(connection, AuditEvent(action=Action.STAFF_SESSION_END, outcome=str(result.ended),
                                                      actor_id=result.staff_id))
    return result


def extend_session(found: Services, token: str) -> Lookup:
    """Record activity now, even under a minute after the last: the person asked to stay signed in."""
    with write(found.engine) as connection:
        return lookup(connection, token, found.clock(), rules_of(found), touch=True)


def sign_out(found: Services, member: StaffMember, token: str) -> None:
    with write(found.engine) as connection:
        end_session(connection, token)
        found.audit.append(connection, AuditEvent(action=Action.STAFF_SIGN_OUT, outcome="success",
                                                  actor_id=member.id, actor_role=member.role))


def end_on_quick_exit(found: Services, token: str | None, sign_in: str | None) -> None:
    """End every server-side session the browser held: a staff session, and a sign-in half done.

    A quick exit clears the cookie, but a copy of it (taken off a shared device
    before, or replayed by whoever picks it up) must open nothing either: the
    session's row goes, and its ending is audited like a timeout, with its reason.
    """
    if token is None and sign_in is None:
        return
    with write(found.engine) as connection:
        if sign_in is not None:
            connection.execute(delete(sign_in_challenges).where(sign_in_challenges.c.token_hash == token_hash(sign_in)))
        if token is None:
            return
        held = connection.execute(
            select(staff_sessions.c.staff_id, staff.c.role).join(staff, staff.c.id == staff_sessions.c.staff_id)
            .where(staff_sessions.c.token_hash == token_hash(token))).first()
        if held is None:
            return
        end_session(connection, token)
        found.audit.append(connection, AuditEvent(action=Action.STAFF_SESSION_END, outcome=QUICK_EXIT,
                                                  actor_id=held.staff_id, actor_role=held.role))
