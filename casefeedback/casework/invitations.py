"""Invitations: a caseworker's link that ties feedback to their case."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select

from casefeedback.intake.codes import lookup_hash, new_invitation_token
from casefeedback.storage.tables import cases, invitations

DEFAULT_LIFETIME = timedelta(days=28)


@dataclass(frozen=True)
class OpenInvitation:
    id: str
    case_id: str
    service_id: str


def create_invitation(connection: Connection, lookup_key: bytes, *, case_id: str, created_by: str,
                      now: datetime, uses: int = 1, lifetime: timedelta = DEFAULT_LIFETIME) -> str:
    """Return the token for the link; only its keyed hash is stored."""
    token = new_invitation_token()
    connection.execute(insert(invitations).values(
        id=str(uuid.uuid4()), token_hash=lookup_hash(lookup_key, "invitation", token), case_id=case_id,
        uses_left=uses, expires_at=now + lifetime, created_by=created_by, created_at=now))
    return token


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
