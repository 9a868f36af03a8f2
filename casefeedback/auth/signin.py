"""Signing in, step by step: password, then the second factor (or enrolling one), then a session.

Each step is one write transaction that also appends its audit event, and each
failure counts toward the account's lockout (``throttle``). Between the steps
the browser holds a random challenge token (only its hash is stored) that
lasts a few minutes and names the account whose password was right.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, delete, insert, select

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth import accounts, mfa, throttle
from casefeedback.auth.passwords import verify_password
from casefeedback.auth.sessions import StaffMember, mark_reauthenticated, start_session, token_hash
from casefeedback.services import Services
from casefeedback.storage.engine import write
from casefeedback.storage.tables import sign_in_challenges, staff

CHALLENGE_LIFETIME = timedelta(minutes=5)

Outcome = Literal["ok", "wrong", "locked", "expired"]


@dataclass(frozen=True)
class Step:
    """What a step came to. ``token``: the challenge (after the password) or the new session (at the end)."""

    outcome: Outcome
    token: str | None = None
    enrolled: bool = False
    locked_until: datetime | None = None
    second_factor: str | None = None
    recovery_left: int | None = None
    recovery_codes: list[str] = field(default_factory=list)


def _audit(found: Services, connection: Connection, action: Action, outcome: str, row: Any = None,
           **detail: str | int | bool | None) -> None:
    found.audit.append(connection, AuditEvent(action=action, outcome=outcome,
                                              actor_id=row.id if row is not None else None,
                                              actor_role=row.role if row is not None else None,
                                              detail=detail))


def _fail(found: Services, connection: Connection, username: str, row: Any, step: str) -> Step:
    now = found.clock()
    until = throttle.record_failure(connection, username, now)
    _audit(found, connection, Action.STAFF_SIGN_IN, "failure", row, step=step, known_account=row is not None,
           locked_for_minutes=throttle.minutes_left(until, now) if until else None)
    return Step("locked", locked_until=until) if until else Step("wrong")


def check_password(found: Services, username: str, password: str) -> Step:
    now = found.clock()
    with write(found.engine) as connection:
        until = throttle.locked_until(connection, username, now)
        if until is not None:
            # Not even checked while locked: a correct guess must not be learnt from a lockout.
            _audit(found, connection, Action.STAFF_SIGN_IN, "throttled", None, step="password")
            return Step("locked", locked_until=until)
        row = accounts.find_by_username(connection, username)
        usable = row is not None and row.enabled
        ok, rehash = verify_password(row.password_hash if usable else None, password)
        if not ok:
            return _fail(found, connection, username, row, "password")
        if rehash:
            accounts.replace_password_hash(connection, row.id, rehash)
        token = secrets.token_urlsafe(32)
        connection.execute(delete(sign_in_challenges).where(sign_in_challenges.c.staff_id == row.id))
        connection.execute(insert(sign_in_challenges).values(token_hash=token_hash(token), staff_id=row.id,
                                                             created_at=now))
        return Step("ok", token=token, enrolled=mfa.is_enrolled(connection, row.id))


def _challenge(connection: Connection, token: str, now: datetime) -> Any:
    """The enabled account a live challenge names, or None (removing a stale challenge)."""
    found = connection.execute(
        select(sign_in_challenges.c.created_at, staff)
        .join(staff, staff.c.id == sign_in_challenges.c.staff_id)
        .where(sign_in_challenges.c.token_hash == token_hash(token))).first()
    if found is None:
        return None
    if now - found.created_at > CHALLENGE_LIFETIME or not found.enabled:
        connection.execute(delete(sign_in_challenges).where(sign_in_challenges.c.token_hash == token_hash(token)))
        return None
    return found


def challenge_state(found: Services, token: str) -> tuple[Any, str | None]:
    """(the account, its pending enrolment secret if it has no second factor yet) or (None, None)."""
    with write(found.engine) as connection:
        row = _challenge(connection, token, found.clock())
        if row is None:
            return None, None
        if mfa.is_enrolled(connection, row.id):
            return row, None
        return row, mfa.pending_secret(connection, row.id)


def check_code(found: Services, token: str, code: str) -> Step:
    now = found.clock()
    with write(found.engine) as connection:
        row = _challenge(connection, token, now)
        if row is None or not mfa.is_enrolled(connection, row.id):
            return Step("expired")
        until = throttle.locked_until(connection, row.username, now)
        if until is not None:
            _end_challenge(connection, token)
            return Step("locked", locked_until=until)
        kind = mfa.verify(connection, row.id, code, now)
        if kind is None:
            failed = _fail(found, connection, row.username, row, "code")
            if failed.outcome == "locked":
                _end_challenge(connection, token)
            return failed
        left = mfa.recovery_codes_left(connection, row.id) if kind == "recovery" else None
        return Step("ok", token=_finish(found, connection, token, row, kind), second_factor=kind,
                    recovery_left=left)


def enrol(found: Services, token: str, code: str) -> Step:
    now = found.clock()
    with write(found.engine) as connection:
        row = _challenge(connection, token, now)
        if row is None or mfa.is_enrolled(connection, row.id):
            return Step("expired")
        if not mfa.confirm_enrolment(connection, row.id, code, now):
            failed = _fail(found, connection, row.username, row, "enrolment")
            if failed.outcome == "locked":
                _end_challenge(connection, token)
            return failed
        codes = mfa.new_recovery_codes(connection, row.id, now)
        _audit(found, connection, Action.STAFF_MFA_ENROL, "success", row)
        return Step("ok", token=_finish(found, connection, token, row, "enrolment"), second_factor="enrolment",
                    recovery_codes=codes)


def _end_challenge(connection: Connection, token: str) -> None:
    connection.execute(delete(sign_in_challenges).where(sign_in_challenges.c.token_hash == token_hash(token)))


def _finish(found: Services, connection: Connection, challenge: str, row: Any, second_factor: str) -> str:
    _end_challenge(connection, challenge)
    throttle.clear(connection, row.username)
    session_token = start_session(connection, row.id, found.clock())
    _audit(found, connection, Action.STAFF_SIGN_IN, "success", row, second_factor=second_factor)
    return session_token


def confirm_identity(found: Services, member: StaffMember, session_token: str, password: str, code: str, *,
                     purpose: str) -> Step:
    """Re-authentication before a key operation: the password and a fresh TOTP code, throttled like sign-in."""
    now = found.clock()
    with write(found.engine) as connection:
        row = accounts.find_by_id(connection, member.id)
        until = throttle.locked_until(connection, member.username, now)
        if row is None or until is not None:
            return Step("locked", locked_until=until)
        ok, _ = verify_password(row.password_hash, password)
        # Only a TOTP code here: recovery codes are for getting in, not for key operations.
        right = ok and mfa.looks_like(code) == "totp" and mfa.verify(connection, row.id, code, now) == "totp"
        if not right:
            until = throttle.record_failure(connection, member.username, now)
            _audit(found, connection, Action.STAFF_REAUTHENTICATE, "failure", row, purpose=purpose)
            return Step("locked", locked_until=until) if until else Step("wrong")
        throttle.clear(connection, member.username)
        mark_reauthenticated(connection, session_token, now)
        _audit(found, connection, Action.STAFF_REAUTHENTICATE, "success", row, purpose=purpose)
        return Step("ok")
