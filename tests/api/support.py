"""API test helpers: registered clients with the scopes a test needs, calls that carry their token, problems."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casefeedback.api import clients
from casefeedback.policy.api_scopes import SCOPES
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events

EVERY_SCOPE = tuple(SCOPES)


@dataclass
class Caller:
    """A registered client calling the API as another system would: its token in the Authorization header."""

    client: FlaskClient
    token: str
    id: str
    name: str

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.headers(), **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.post(path, headers=self.headers(), json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.put(path, headers=self.headers(), json=json, **kwargs)


def register(app: Flask, name: str, scopes: Iterable[str] = EVERY_SCOPE) -> Caller:
    registered = clients.register(app.extensions["casefeedback"], name, scopes)
    return Caller(app.test_client(), registered.token, registered.client.id, registered.client.name)


def calls_of(found: Services, client_id: str) -> list[Any]:
    """The audit events a client is the actor of, oldest first."""
    with read(found.engine) as connection:
        return list(connection.execute(select(audit_events).where(audit_events.c.actor_id == client_id)
                                       .order_by(audit_events.c.seq)).all())


def is_problem(response: Any, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem document with this status, and return it."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:400])
    assert response.mimetype == "application/problem+json"
    document: dict[str, Any] = response.get_json(force=True)
    assert document["status"] == status and document["title"] and document["detail"]
    return document


def pointers(document: dict[str, Any]) -> set[str]:
    return {e["pointer"] for e in document.get("errors", [])}
