"""API clients: registering one (its token shown once), listing, revoking, and recognising a token.

A token is ``cfk_`` + 43 URL-safe characters: 256 random bits. Only its SHA-256
is stored. A fast, unsalted, unkeyed hash is right for this and only this kind of
secret: with 2^256 possible tokens there is no dictionary to guess from, so the
slow, salted hashing a password needs buys nothing, and the check stays cheap on
every request. A copy of the database alone therefore gives nobody a working
token. The first characters (``token_prefix``) are kept in the clear so an
administrator can recognise a token in a list and a leaked one in a scan, and so
the row is found without comparing hashes in SQL; the hashes are then compared in
constant time. Revoking sets ``revoked_at``, which the very next request reads:
there is no cache to wait for.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from casefeedback.audit import AuditEvent
from casefeedback.audit.actions import Action
from casefeedback.policy.api_scopes import checked_scopes
from casefeedback.services import Services
from casefeedback.storage.engine import read, write
from casefeedback.storage.tables import api_clients

TOKEN_MARK = "cfk_"  # noqa: S105 — a marker that makes tokens recognisable in a scan, not a secret
PREFIX_LENGTH = len(TOKEN_MARK) + 8  # "cfk_" and 8 random characters: shown, never enough to use
MAX_NAME = 80
# The actor role every API call is audited under (labels.py names it for the auditor).
ACTOR_ROLE = "api_client"


class ClientError(ValueError):
    """A client cannot be registered or revoked as asked; the message says why, plainly."""


@dataclass(frozen=True)
class ApiClient:
    id: str
    name: str
    scopes: frozenset[str]
    token_prefix: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def state(self) -> str:
        return "revoked" if self.revoked_at else "active"


@dataclass(frozen=True)
class Registered:
    client: ApiClient
    token: str  # shown once, never stored


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(value: str) -> bool:
    return value.startswith(TOKEN_MARK) and len(value) > PREFIX_LENGTH


def _client(row: object) -> ApiClient:
    return ApiClient(row.id, row.name, frozenset(row.scopes.split()), row.token_prefix,  # type: ignore[attr-defined]
                     row.created_at, row.revoked_at)  # type: ignore[attr-defined]


def _event(action: Action, client: ApiClient, actor_id: str | None, actor_role: str, **detail: str) -> AuditEvent:
    return AuditEvent(action=action, outcome="success", actor_id=actor_id, actor_role=actor_role,
                      object_type="api_client", object_id=client.id, detail={"client": client.name, **detail})


def register(found: Services, name: str, scopes: Iterable[str], *, by_id: str | None = None,
             by_role: str = "cli") -> Registered:
    """A new client with a fresh token (returned once); ClientError for a bad or taken name or a wrong scope."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise ClientError(f"Give the client a name of 1 to {MAX_NAME} characters.")
    try:
        chosen = checked_scopes(scopes)
    except ValueError as error:
        raise ClientError(str(error)) from None
    token = TOKEN_MARK + secrets.token_urlsafe(32)
    client = ApiClient(str(uuid.uuid4()), name, chosen, token[:PREFIX_LENGTH], found.clock(), None)
    try:
        with write(found.engine) as connection:
            if connection.execute(select(api_clients.c.id).where(api_clients.c.name == name)).first():
                raise ClientError("There is already a client with that name. Choose another.")
            connection.execute(insert(api_clients).values(
                id=client.id, name=name, scopes=" ".join(sorted(chosen)), token_prefix=client.token_prefix,
                token_hash=token_hash(token), created_at=client.created_at, created_by=by_id))
            found.audit.append(connection, _event(Action.API_CLIENT_ADD, client, by_id, by_role,
                                                  scopes=" ".join(sorted(chosen))))
    except IntegrityError:  # two registrations racing for one name (or, never in practice, one prefix)
        raise ClientError("There is already a client with that name. Choose another.") from None
    return Registered(client, token)


def listing(found: Services) -> list[ApiClient]:
    """Every client, active ones first, then by name."""
    with read(found.engine) as connection:
        rows = connection.execute(select(api_clients).order_by(api_clients.c.name)).all()
    return sorted((_client(r) for r in rows), key=lambda c: (c.revoked_at is not None, c.name.lower()))


def revoke(found: Services, name_or_id: str, *, by_id: str | None = None, by_role: str = "cli") -> ApiClient:
    """Stop a client's token at once; ClientError if there is no such client or it was revoked already."""
    with write(found.engine) as connection:
        row = connection.execute(select(api_clients).where(
            (api_clients.c.id == name_or_id) | (api_clients.c.name == name_or_id))).first()
        if row is None:
            raise ClientError("There is no API client by that name.")
        client = _client(row)
        if client.revoked_at is not None:
            raise ClientError(f"The client {client.name} was revoked already.")
        connection.execute(update(api_clients).where(api_clients.c.id == client.id)
                           .values(revoked_at=found.clock()))
        found.audit.append(connection, _event(Action.API_CLIENT_REVOKE, client, by_id, by_role))
    return ApiClient(client.id, client.name, client.scopes, client.token_prefix, client.created_at, found.clock())


def recognise(found: Services, token: str) -> ApiClient | None:
    """The client this token belongs to (revoked ones included: the gate says which), or None."""
    if not looks_like_token(token) or len(token) > 200:
        return None
    with read(found.engine) as connection:
        row = connection.execute(select(api_clients).where(
            api_clients.c.token_prefix == token[:PREFIX_LENGTH])).first()
    # The prefix finds the row; the whole token must still match, compared in constant time.
    if row is None or not hmac.compare_digest(row.token_hash, token_hash(token)):
        return None
    return _client(row)


def record_call(found: Services, client: ApiClient, *, operation: str, status: int, refused: str | None = None,
                on_behalf_of: str | None = None, object_id: str | None = None) -> None:
    """One audit event per call, the client as its actor: what it asked for and how it was answered."""
    detail: dict[str, str | int | None] = {"client": client.name, "operation": operation, "status": status}
    if on_behalf_of:
        detail["on_behalf_of"] = on_behalf_of
    if object_id:
        detail["object"] = object_id
    if refused:
        detail["reason"] = refused
    with write(found.engine) as connection:
        found.audit.append(connection, AuditEvent(
            action=Action.API_REFUSE if refused else Action.API_CALL,
            outcome="denied" if refused else ("success" if status < 400 else "failed"),
            actor_id=client.id, actor_role=ACTOR_ROLE, object_type="api_client", object_id=client.id,
            detail=detail))
