"""Invitations: a caseworker's link that ties feedback to their case.

The token is a bearer secret (192 random bits). It exists in plaintext only in
the one response that creates it; the database keeps its keyed hash, so nobody
— staff, a DBA, a thief of a backup — can recover a live link from storage.

Each invitation also has a short code (``K7QM-4TXR-9P``) for someone who cannot
scan the QR code or type a long link from paper: typed at /feedback/code it
opens the same invitation, and stops working exactly when the link does. It is
kept the same way as the token (only its keyed hash, under its own purpose, so
a token can never be taken for a code); invitations made before short codes
existed have none.
"""

from __future__ import annotations

import base64
import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import segno
from sqlalchemy import ColumnElement, Connection, insert, select, update

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.auth.sessions import StaffMember
from casefeedback.casework.cases import CaseError, CaseSummary, case_or_not_found
from casefeedback.codes import (
    grouped_short_code,
    lookup_hash,
    new_invitation_short_code,
    new_invitation_token,
    normalise_invitation_short_code,
)
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import cases, invitations

DEFAULT_DAYS = 28
MAX_DAYS = 90
MAX_USES = 50
DEFAULT_LIFETIME = timedelta(days=DEFAULT_DAYS)
TOKEN_PURPOSE, SHORT_CODE_PURPOSE = "invitation", "invitation-code"


class InvalidInvitation(ValueError):
    """Uses or lifetime outside what an invitation may have."""


class InvitationNotFound(Exception):
    """No such usable invitation on this case: the same answer for a wrong, used or revoked one."""


class ShortCodeMalformed(ValueError):
    """What was typed cannot be a short code (wrong length, or a symbol short codes never use)."""


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
    short_code: str  # shown once, never stored


@dataclass(frozen=True)
class InvitationSummary:
    id: str
    created_at: datetime
    expires_at: datetime
    uses_left: int
    revoked_at: datetime | None
    state: str  # "active", "used", "expired" or "revoked"
    has_short_code: bool = False  # False for invitations made before short codes existed


def new_invitation(connection: Connection, lookup_key: bytes, *, case_id: str, created_by: str,
                   now: datetime, uses: int = 1, lifetime: timedelta = DEFAULT_LIFETIME) -> NewInvitation:
    """Store an invitation (only its token's keyed hash) and return it with its token."""
    if not 1 <= uses <= MAX_USES:
        raise InvalidInvitation(f"an invitation can be used from 1 to {MAX_USES} times")
    if not timedelta(0) < lifetime <= timedelta(days=MAX_DAYS):
        raise InvalidInvitation(f"an invitation lasts from 1 to {MAX_DAYS} days")
    token = new_invitation_token()
    short_code, code_hash = _unused_short_code(connection, lookup_key)
    invitation_id = str(uuid.uuid4())
    connection.execute(insert(invitations).values(
        id=invitation_id, token_hash=lookup_hash(lookup_key, TOKEN_PURPOSE, token), case_id=case_id,
        uses_left=uses, expires_at=now + lifetime, created_by=created_by, created_at=now,
        short_code_hash=code_hash))
    return NewInvitation(invitation_id, token, uses, now + lifetime, short_code)


def short_code_hash(lookup_key: bytes, symbols: str) -> str:
    """The stored form of a short code, from its normalised symbols (no dashes, upper case)."""
    return lookup_hash(lookup_key, SHORT_CODE_PURPOSE, symbols)


def _unused_short_code(connection: Connection, lookup_key: bytes) -> tuple[str, str]:
    """A fresh short code and its hash. Two invitations sharing a code would let one person's paper open
    another's invitation: a clash (one chance in 600 million even with a million codes issued) draws again,
    and the unique index refuses whatever a concurrent writer might still slip past this check."""
    while True:
        code = new_invitation_short_code()
        hashed = short_code_hash(lookup_key, code.replace("-", ""))
        if connection.execute(select(invitations.c.id).where(invitations.c.short_code_hash == hashed)).first() is None:
            return code, hashed


def create_invitation(connection: Connection, lookup_key: bytes, *, case_id: str, created_by: str,
                      now: datetime, uses: int = 1, lifetime: timedelta = DEFAULT_LIFETIME) -> str:
    """Return the token for the link; only its keyed hash is stored."""
    return new_invitation(connection, lookup_key, case_id=case_id, created_by=created_by, now=now, uses=uses,
                          lifetime=lifetime).token


def find_usable_invitation(connection: Connection, lookup_key: bytes, token: str,
                           now: datetime) -> OpenInvitation | None:
    return _usable(connection, invitations.c.token_hash == lookup_hash(lookup_key, TOKEN_PURPOSE, token), now)


def find_usable_invitation_by_short_code(connection: Connection, lookup_key: bytes, symbols: str,
                                         now: datetime) -> OpenInvitation | None:
    """The usable invitation whose short code is ``symbols`` (normalised): the same rules as its link."""
    return _usable(connection, invitations.c.short_code_hash == short_code_hash(lookup_key, symbols), now)


def _usable(connection: Connection, which: ColumnElement[bool], now: datetime) -> OpenInvitation | None:
    row = connection.execute(
        select(invitations.c.id, invitations.c.case_id, cases.c.service_id)
        .join(cases, cases.c.id == invitations.c.case_id)
        .where(which, invitations.c.uses_left > 0, invitations.c.revoked_at.is_(None),
               invitations.c.expires_at > now, cases.c.status == "open")
    ).first()
    return OpenInvitation(row.id, row.case_id, row.service_id) if row else None


def invitation_for_short_code(found: Services, typed: str) -> OpenInvitation | None:
    """The invitation a typed short code opens, if it can still be used for a service still offered; else None
    (a wrong code and a revoked, expired or used-up invitation's code look the same). ShortCodeMalformed if what
    was typed cannot be a short code at all."""
    symbols = normalise_invitation_short_code(typed)
    if symbols is None:
        raise ShortCodeMalformed()
    with read(found.engine) as connection:
        invite = find_usable_invitation_by_short_code(connection, found.config.secrets.lookup.value, symbols,
                                                      found.clock())
    return invite if invite is not None and found.policies.service(invite.service_id) is not None else None


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
                              _state(r.revoked_at, r.uses_left, r.expires_at, now), r.short_code_hash is not None)
            for r in rows]


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


@dataclass(frozen=True)
class PostedInvitation:
    invitation: InvitationSummary
    service_id: str
    short_code: str | None  # as posted back and proven to be this invitation's; None if it has none


def posted_invitation(found: Services, member: StaffMember, case_id: str, token: str,
                      short_code: str = "") -> PostedInvitation:
    """The usable invitation of this very case that ``token`` opens, with its short code if one was posted back;
    else CaseNotFound or InvitationNotFound (also for a short code that is not this invitation's).

    So the QR download is not a QR generator for arbitrary text, the handout cannot print a code
    that opens nothing (or someone else's invitation), and neither revives a revoked link.
    """
    lookup_key = found.config.secrets.lookup.value
    with read(found.engine) as connection:
        summary = case_or_not_found(connection, member, case_id)
        usable = find_usable_invitation(connection, lookup_key, token, found.clock())
        listed = {i.id: i for i in invitations_for_case(connection, case_id, found.clock())}
        stored_code = None if usable is None else connection.execute(
            select(invitations.c.short_code_hash).where(invitations.c.id == usable.id)).scalar_one()
    if usable is None or usable.id not in listed:
        raise InvitationNotFound()
    symbols = normalise_invitation_short_code(short_code) if short_code else None
    if short_code and (symbols is None or stored_code != short_code_hash(lookup_key, symbols)):
        raise InvitationNotFound()
    return PostedInvitation(listed[usable.id], summary.service_id, grouped_short_code(symbols) if symbols else None)


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
