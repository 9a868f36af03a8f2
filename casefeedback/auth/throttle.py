"""Per-account sign-in throttling, kept in the database so every gunicorn worker sees the same count.

After a few free failures (a wrong password or a wrong code), an account is
locked for a minute, then two, four… up to an hour: enough to make guessing
hopeless, short enough that someone who locks out a colleague on purpose only
delays them. A username that does not exist is throttled exactly like one that
does, so the lockout message says nothing about which accounts exist.
Per-address limits are Flask-Limiter's job (see ``auth.blueprint``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update

from casefeedback.storage.tables import sign_in_throttle

FREE_FAILURES = 5
FIRST_LOCK = timedelta(minutes=1)
LONGEST_LOCK = timedelta(hours=1)
# A day without a failure and the count starts again.
FORGET_AFTER = timedelta(days=1)


def key(username: str) -> str:
    return username.strip().lower()[:64]


def locked_until(connection: Connection, username: str, now: datetime) -> datetime | None:
    until: datetime | None = connection.execute(select(sign_in_throttle.c.locked_until)
                                                .where(sign_in_throttle.c.username == key(username))).scalar()
    return until if until is not None and until > now else None


def record_failure(connection: Connection, username: str, now: datetime) -> datetime | None:
    """Count a failure; return when the account is locked until, if this failure locks it."""
    name = key(username)
    row = connection.execute(select(sign_in_throttle).where(sign_in_throttle.c.username == name)).first()
    failures = 1 if row is None or now - row.last_failure_at > FORGET_AFTER else row.failures + 1
    until = _lock_for(failures, now)
    values = {"failures": failures, "last_failure_at": now, "locked_until": until}
    if row is None:
        connection.execute(insert(sign_in_throttle).values(username=name, **values))
    else:
        connection.execute(update(sign_in_throttle).where(sign_in_throttle.c.username == name).values(**values))
    return until


def _lock_for(failures: int, now: datetime) -> datetime | None:
    beyond = failures - FREE_FAILURES
    if beyond < 0:
        return None
    return now + min(FIRST_LOCK * (1 << min(beyond, 10)), LONGEST_LOCK)


def clear(connection: Connection, username: str) -> None:
    connection.execute(delete(sign_in_throttle).where(sign_in_throttle.c.username == key(username)))


def minutes_left(until: datetime, now: datetime) -> int:
    return max(1, -(-int((until - now).total_seconds()) // 60))
