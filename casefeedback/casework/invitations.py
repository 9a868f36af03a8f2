"""Invitations: a caseworker's link that ties feedback to their case.

The token is a bearer secret (192 random bits). It exists in plaintext only in
the one response that creates it; the database keeps its keyed hash, so nobody
— staff, a DBA, a thief of a backup — can recover a live link from storage.
"""

from __future__ import annotations

import base64
import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import segno
from sqlalchemy import Connection, insert, select, update

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import CaseError, CaseSummary, case_or_not_found
from casefeedback.codes import lookup_hash, new_invitation_token
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import cases, invitations

DEFAULT_DAYS = 28
MAX_DAYS = 90
MAX_USES = 50
DEFAULT_LIFETIME = timedelta(days=DEFAULT_DAYS)


class InvalidInvitation(ValueError):
    """Uses or lifetime outside what an invitation may have."""


class InvitationNotFound(Exception):
    """No such usable invitation on this case: the same answer for a wrong, used or revoked one."""


@dataclass(frozen=True)
class OpenInvitation:
    id: str
    case_id: str
    service_id: str


@dataclass(frozen=True)
class NewInvitation:
    id: str
    token: str  # shown once, never stored
    uses: int
    expires_at: datetime


@dataclass(frozen=True)
class InvitationSummary:
    id: str
    created_at: datetime
    expires_at: datetime
    uses_left: int
    revoked_at: datetime | None
    state: str  # "active", "used", "expired" or "revoked"


def new_invitation(connection: Connection, lookup_key: bytes, *, case_id: str, created_by: str,
                   now: datetime, uses: int = 1, lifetime: timedelta = DEFAULT_LIFETIME) -> NewInvitation:
    """Store an invitation (only its token's keyed hash) and return it with its token."""
    if not 1 <= uses <= MAX_USES:
        raise InvalidInvitation(f"an invitation can be used from 1 to {MAX_USES} times")
    if not timedelta(0) < lifetime <= timedelta(days=MAX_DAYS):
        raise InvalidInvitation(f"an invitation lasts from 1 to {MAX_DAYS} days")
    token = new_invitation_token()
    invitation_id = str(uuid.uuid4())
    connection.execute(insert(invitations).values(
        id=invitation_id, token_hash=lookup_hash(lookup_key, "invitation", token), case_id=case_id,
        uses_left=uses, expires_at=now + lifetime, created_by=created_by, created_at=now))
    return NewInvitation(invitation_id, token, uses, now + lifetime)


def create_invitation(connection: Connection, lookup_key: bytes, *, case_id: str, created_by: str,
                      now: datetime, uses: int = 1, lifetime: timedelta = DEFAULT_LIFETIME) -> str:
    """Return the token for the link; only its keyed hash is stored."""
    return new_invitation(connection, lookup_key, case_id=case_id, created_by=created_by, now=now, uses=uses,
                          lifetime=lifetime).token


def find_usable_invitation(connection: Connection, lookup_key: bytes, token: str,
                           now: datetime) -> OpenInvitation | None:
    row = connection.execute(
        select(invitations.c.id, invitations.c.case_id, cases.c.service_id)
        .join(cases, cases.c.id == invitations.c.case_id)
        .where(invitations.c.token_hash == lookup_hash(lookup_key, "invitation", token),
               invitations.c.uses_left > 0, invitations.c.revoked_at.is_(None),
               invitations.c.expires_at > now, cases.c.status == "open")
    ).first()
    return OpenInvitation(row.id, row.case_id, row.service_id) if row else None


def _state(revoked_at: datetime | None, uses_left: int, expires_at: datetime, now: datetime) -> str:
    if revoked_at is not None:
        return "revoked"
    if uses_left <= 0:
        return "used"
    return "expired" if expires_at <= now else "active"


def invitations_for_case(connection: Connection, case_id: str, now: datetime) -> list[InvitationSummary]:
    rows = connection.execute(select(invitations).where(invitations.c.case_id == case_id)
                              .order_by(invitations.c.created_at.desc())).all()
    return [InvitationSummary(r.id, r.created_at, r.expires_at, r.uses_left, r.revoked_at,
                              _state(r.revoked_at, r.uses_left, r.expires_at, now)) for r in rows]


def revoke_invitation(connection: Connection, *, case_id: str, invitation_id: str, now: datetime) -> bool:
    """Stop a link working at once. False if there is no such invitation on this case or it was revoked already."""
    revoked = connection.execute(
        update(invitations)
        .where(invitations.c.id == invitation_id, invitations.c.case_id == case_id,
               invitations.c.revoked_at.is_(None))
        .values(revoked_at=now))
    return revoked.rowcount == 1


@dataclass(frozen=True)
class CaseInvitations:
    case: CaseSummary
    invitations: list[InvitationSummary]


@dataclass(frozen=True)
class Invited:
    case: CaseSummary
    invitation: NewInvitation


def _event(member: StaffMember, action: Action, invitation_id: str, **detail: str | int) -> AuditEvent:
    return AuditEvent(action=action, outcome="success", actor_id=member.id, actor_role=member.role,
                      object_type="invitation", object_id=invitation_id, detail=detail)


def case_invitations(found: Services, member: StaffMember, case_id: str) -> CaseInvitations:
    """A case the member may know exists (never through break-glass) and its invitations; else CaseNotFound."""
    with read(found.engine) as connection:
        summary = case_or_not_found(connection, member, case_id)
        return CaseInvitations(summary, invitations_for_case(connection, case_id, found.clock()))


def invite(found: Services, member: StaffMember, case_id: str, *, uses: int, days: int) -> Invited:
    """A new invitation to an open case, with its token (shown once); CaseNotFound, or CaseError if closed."""
    with write(found.engine) as connection:
        summary = case_or_not_found(connection, member, case_id)
        if summary.status != "open":
            raise CaseError("This case is closed, so it cannot take new feedback.")
        created = new_invitation(connection, found.config.secrets.lookup.value, case_id=case_id,
                                 created_by=member.id, now=found.clock(), uses=uses, lifetime=timedelta(days=days))
        found.audit.append(connection, _event(member, Action.INVITATION_CREATE, created.id, case=case_id,
                                              uses=created.uses, days=days))
    return Invited(summary, created)


def posted_invitation(found: Services, member: StaffMember, case_id: str, token: str) -> InvitationSummary:
    """The usable invitation of this very case that ``token`` opens; else CaseNotFound or InvitationNotFound.

    So the QR download is not a QR generator for arbitrary text, nor a way to revive a revoked link.
    """
    with read(found.engine) as connection:
        case_or_not_found(connection, member, case_id)
        usable = find_usable_invitation(connection, found.config.secrets.lookup.value, token, found.clock())
        listed = {i.id: i for i in invitations_for_case(connection, case_id, found.clock())}
    if usable is None or usable.id not in listed:
        raise InvitationNotFound()
    return listed[usable.id]


def revoke(found: Services, member: StaffMember, case_id: str, invitation_id: str) -> bool:
    """Stop one of the case's links at once; False if it was revoked already, InvitationNotFound if not the case's."""
    with write(found.engine) as connection:
        case_or_not_found(connection, member, case_id)
        if invitation_id not in {i.id for i in invitations_for_case(connection, case_id, found.clock())}:
            raise InvitationNotFound()
        revoked = revoke_invitation(connection, case_id=case_id, invitation_id=invitation_id, now=found.clock())
        if revoked:
            found.audit.append(connection, _event(member, Action.INVITATION_REVOKE, invitation_id, case=case_id))
    return revoked


@dataclass(frozen=True)
class QrImages:
    png: bytes
    svg: bytes

    def png_data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    def svg_data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode("ascii")


def qr_images(link: str) -> QrImages:
    """The QR code of the link — and of nothing else — as PNG and SVG, sized to print clearly.

    Error correction M (segno raises it when the size allows) survives a crease
    or a smudge on paper; the 4-module quiet zone is what scanners expect.
    """
    code = segno.make(link, error="m", micro=False)
    png, svg = io.BytesIO(), io.BytesIO()
    code.save(png, kind="png", scale=10, border=4)
    code.save(svg, kind="svg", scale=10, border=4, xmldecl=False, title="QR code of the feedback link")
    return QrImages(png.getvalue(), svg.getvalue())
