"""Releasing a hold: the one change to a hold that asks the person to confirm who they are.

Releasing lets the next purge erase what the hold kept, and erasure cannot be
undone; so, as for break-glass, a stolen but live session is not enough. The
password and a fresh code are asked unless the person gave them within
``[staff_sessions] reauthenticate_within``. What is wrong with the request
itself (no reason, a hold already released) is refused first, so a slip costs
no sign-in attempt.
"""

from __future__ import annotations

from datetime import datetime

from casefeedback.auth import signin
from casefeedback.auth.sessions import StaffMember
from casefeedback.retention import holds
from casefeedback.retention.holds import Changer, Hold, HoldError
from casefeedback.services import Services


class NotConfirmed(Exception):
    """The password or code was not right; ``locked_until`` when there were too many attempts."""

    def __init__(self, locked_until: datetime | None) -> None:
        super().__init__("identity not confirmed")
        self.locked_until = locked_until


def release(found: Services, member: StaffMember, session_token: str, hold_id: str, *, reason: str,
            password: str, code: str, confirmed_recently: bool) -> Hold:
    holds.check_release(found, hold_id, reason)
    if not confirmed_recently:
        if not password or not code:
            raise HoldError("Enter your password and a security code: releasing a hold lets the next purge erase "
                            "what it keeps.", 401)
        step = signin.confirm_identity(found, member, session_token, password, code, purpose="legal_hold_release")
        if step.outcome != "ok":
            raise NotConfirmed(step.locked_until if step.outcome == "locked" else None)
    return holds.release(found, hold_id, reason=reason, by=Changer(member.id, member.role))
