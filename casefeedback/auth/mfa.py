"""The second factor: TOTP (RFC 6238, via pyotp) and single-use recovery codes.

Every staff account must have it: a stolen password alone opens nothing. A
code is accepted once (the step it belongs to is recorded, so a code read over
someone's shoulder cannot be replayed), within one step of clock drift either
way. Recovery codes are shown once and kept only as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime
from typing import Literal

import pyotp
import segno
from sqlalchemy import Connection, delete, func, insert, select, update

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth.sessions import StaffMember
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import staff_mfa, staff_recovery_codes

ISSUER = "casefeedback"
RECOVERY_CODES = 10
_DRIFT_STEPS = (0, -1, 1)  # the current 30-second step first, then one either side
_TOTP = re.compile(r"[0-9]{6}")
_RECOVERY = re.compile(r"[0-9a-f]{20}")

CodeKind = Literal["totp", "recovery"]


def normalise(code: str) -> str:
    """What people type: spaces and dashes as they please, any case."""
    return re.sub(r"[\s-]", "", code).lower()


def looks_like(code: str) -> CodeKind | None:
    cleaned = normalise(code)
    if _TOTP.fullmatch(cleaned):
        return "totp"
    return "recovery" if _RECOVERY.fullmatch(cleaned) else None


# --- enrolment ---------------------------------------------------------------------------------


def is_enrolled(connection: Connection, staff_id: str) -> bool:
    at = connection.execute(select(staff_mfa.c.enrolled_at).where(staff_mfa.c.staff_id == staff_id)).first()
    return at is not None and at.enrolled_at is not None


def pending_secret(connection: Connection, staff_id: str) -> str:
    """The secret to enrol with; the same one until enrolment is confirmed (a reload shows the same QR code)."""
    row = connection.execute(select(staff_mfa).where(staff_mfa.c.staff_id == staff_id)).first()
    if row is not None and row.enrolled_at is None:
        return str(row.totp_secret)
    if row is not None:
        raise ValueError("this account already has a second factor")
    secret = pyotp.random_base32(length=32)  # 160 bits, as RFC 4226 recommends
    connection.execute(insert(staff_mfa).values(staff_id=staff_id, totp_secret=secret, enrolled_at=None,
                                                last_used_step=0))
    return secret


def provisioning_uri(secret: str, username: str) -> str:
    return str(pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER))


def qr_data_uri(uri: str) -> str:
    """The otpauth URI as an SVG QR code in a ``data:`` URI (the CSP allows ``img-src data:``, no script)."""
    return str(segno.make(uri, error="m", micro=False).svg_data_uri(scale=5, border=4))


def enrol_without_code(connection: Connection, staff_id: str, now: datetime) -> str:
    """Give an account a confirmed second factor and return its secret, skipping the QR step.

    For the development demo only (``casefeedback init --demo``), whose printed
    credentials include the secret so that a tester can add it to an app.
    """
    secret = pending_secret(connection, staff_id)
    connection.execute(update(staff_mfa).where(staff_mfa.c.staff_id == staff_id).values(enrolled_at=now))
    return secret


def confirm_enrolment(connection: Connection, staff_id: str, code: str, now: datetime) -> bool:
    """Finish enrolment if the code matches the pending secret."""
    row = connection.execute(select(staff_mfa).where(staff_mfa.c.staff_id == staff_id,
                                                     staff_mfa.c.enrolled_at.is_(None))).first()
    step = _matching_step(row.totp_secret, code, now, row.last_used_step) if row else None
    if step is None:
        return False
    connection.execute(update(staff_mfa).where(staff_mfa.c.staff_id == staff_id)
                       .values(enrolled_at=now, last_used_step=step))
    return True


def forget(connection: Connection, staff_id: str) -> None:
    """Remove the second factor and recovery codes: the person enrols again at their next sign-in."""
    connection.execute(delete(staff_recovery_codes).where(staff_recovery_codes.c.staff_id == staff_id))
    connection.execute(delete(staff_mfa).where(staff_mfa.c.staff_id == staff_id))


# --- checking a code ---------------------------------------------------------------------------


def verify(connection: Connection, staff_id: str, code: str, now: datetime) -> CodeKind | None:
    """Check a TOTP or recovery code for an enrolled account, using it up. None if it is not right."""
    kind = looks_like(code)
    if kind == "totp":
        return "totp" if _verify_totp(connection, staff_id, normalise(code), now) else None
    if kind == "recovery":
        return "recovery" if _use_recovery_code(connection, staff_id, normalise(code), now) else None
    return None


def _verify_totp(connection: Connection, staff_id: str, code: str, now: datetime) -> bool:
    row = connection.execute(select(staff_mfa).where(staff_mfa.c.staff_id == staff_id,
                                                     staff_mfa.c.enrolled_at.is_not(None))).first()
    step = _matching_step(row.totp_secret, code, now, row.last_used_step) if row else None
    if step is None:
        return False
    # Conditional on the step still being newer, so two workers cannot both accept the same code.
    moved = connection.execute(update(staff_mfa).where(staff_mfa.c.staff_id == staff_id,
                                                       staff_mfa.c.last_used_step < step)
                               .values(last_used_step=step))
    return moved.rowcount == 1


def _matching_step(secret: str, code: str, now: datetime, last_used_step: int) -> int | None:
    code = normalise(code)
    if not _TOTP.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for offset in _DRIFT_STEPS:
        step = current + offset
        if step > last_used_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


# --- recovery codes ----------------------------------------------------------------------------


def _code_hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def new_recovery_codes(connection: Connection, staff_id: str, now: datetime) -> list[str]:
    """Replace any old codes with fresh ones; return them for showing once."""
    connection.execute(delete(staff_recovery_codes).where(staff_recovery_codes.c.staff_id == staff_id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(10)  # 80 bits
        codes.append("-".join(raw[i:i + 5] for i in range(0, 20, 5)))
        connection.execute(insert(staff_recovery_codes).values(
            id=str(uuid.uuid4()), staff_id=staff_id, code_hash=_code_hash(raw), created_at=now))
    return codes


def _use_recovery_code(connection: Connection, staff_id: str, code: str, now: datetime) -> bool:
    used = connection.execute(update(staff_recovery_codes)
                              .where(staff_recovery_codes.c.staff_id == staff_id,
                                     staff_recovery_codes.c.code_hash == _code_hash(code),
                                     staff_recovery_codes.c.used_at.is_(None))
                              .values(used_at=now))
    return used.rowcount == 1


def recovery_codes_left(connection: Connection, staff_id: str) -> int:
    return int(connection.execute(select(func.count()).select_from(staff_recovery_codes)
                                  .where(staff_recovery_codes.c.staff_id == staff_id,
                                         staff_recovery_codes.c.used_at.is_(None))).scalar_one())


def codes_left(found: Services, staff_id: str) -> int:
    """How many unused recovery codes an account has, for its own account page."""
    with read(found.engine) as connection:
        return recovery_codes_left(connection, staff_id)


def renew_recovery_codes(found: Services, member: StaffMember) -> list[str]:
    """A signed-in person's fresh set of recovery codes (the old ones stop working), for showing once."""
    with write(found.engine) as connection:
        codes = new_recovery_codes(connection, member.id, found.clock())
        found.audit.append(connection, AuditEvent(action=Action.STAFF_MFA_RECOVERY_CODES, outcome="success",
                                                  actor_id=member.id, actor_role=member.role,
                                                  detail={"count": len(codes)}))
    return codes
