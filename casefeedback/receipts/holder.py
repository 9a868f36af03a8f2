"""Remembering, for a short while, which feedback this browser proved it holds the code for.

After a correct code, the session (Flask's cookie, signed with the session
secret, so the browser cannot change it) holds the submission id the code
resolved to and two times — never the code itself. Any page then re-checks
both times against the server's clock: on a shared phone, feedback must not
stay open for the next person who picks it up.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from flask import session

KEY = "receipt"
PENDING_ADDITION = "receipt_addition"
IDLE_LIMIT = timedelta(minutes=15)
ABSOLUTE_LIMIT = timedelta(hours=1)

def remember(submission_id: str, now: datetime) -> None:
    stamp = now.timestamp()
    session[KEY] = {"id": submission_id, "since": stamp, "seen": stamp}


def current(now: datetime) -> tuple[str | None, bool]:
    """(the submission id this browser holds the code for, or None; whether it was just forgotten for age)."""
    held = session.get(KEY)
    if not isinstance(held, dict):
        return None, False
    try:
        submission_id, since, seen = str(held["id"]), float(held["since"]), float(held["seen"])
    except (KeyError, TypeError, ValueError):
        session.pop(KEY, None)
        return None, False
    stamp = now.timestamp()
    if stamp - seen > IDLE_LIMIT.total_seconds() or stamp - since > ABSOLUTE_LIMIT.total_seconds():
        # Only the proof goes; a pending addition's id stays, so that what the
        # person was writing can still be sent, once, after they type the code again.
        session.pop(KEY, None)
        return None, True
    held["seen"] = stamp
    session.modified = True
    return submission_id, False


def prepare_addition(service_id: str) -> None:
    """Fix the id the next "add more" will be stored under, when its form is shown.

    Sending the same form twice (a double click, Back and send) collides on it
    instead of storing the words twice. The service says which questions the
    form had, should the code have to be typed again before it is sent.
    """
    if pending_addition() is None:
        session[PENDING_ADDITION] = {"id": str(uuid.uuid4()), "service": service_id}


def pending_addition() -> tuple[str, str] | None:
    """(addition id, service id) of the "add more" form this browser was shown, if any."""
    pending = session.get(PENDING_ADDITION)
    if isinstance(pending, dict) and isinstance(pending.get("id"), str) and isinstance(pending.get("service"), str):
        return pending["id"], pending["service"]
    return None


def addition_stored() -> None:
    session.pop(PENDING_ADDITION, None)


def forget() -> None:
    session.pop(KEY, None)
    session.pop(PENDING_ADDITION, None)
