"""Every API endpoint × every way of being refused: no token, a malformed, unknown or revoked one, one without the
scope — each a 401/403 problem before any work, and a token in the address a 400 even when the header is right."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from casefeedback.api import clients, views
from casefeedback.api.operations import OPERATIONS, Operation
from casefeedback.policy.api_scopes import SCOPES
from casefeedback.services import Services
from tests.api.support import Caller, calls_of, is_problem, register

assert views.bp  # importing the views declares every operation, before the parameters below are read
ENDPOINTS = sorted(OPERATIONS.values(), key=lambda op: (op.path, op.method))
VALUES = {"case_id": "00000000-0000-0000-0000-000000000000", "reference": "ABCD1234"}


def _url(op: Operation) -> str:
    return re.sub(r"\{([a-z_]+)\}", lambda m: VALUES[m.group(1)], op.path)


def _call(caller: Caller, op: Operation, headers: dict[str, str], query: str = "") -> Any:
    open_call = getattr(caller.client, op.method)
    kwargs: dict[str, Any] = {"headers": headers}
    if op.body is not None:
        kwargs["json"] = {}
    return open_call(_url(op) + query, **kwargs)


@pytest.mark.parametrize("op", ENDPOINTS, ids=lambda op: op.operation_id)
def test_every_endpoint_refuses_every_bad_token(app: Flask, found: Services, op: Operation) -> None:
    holder = register(app, f"holder {op.operation_id}")
    others = register(app, f"others {op.operation_id}", [s for s in SCOPES if s != op.scope])
    revoked = register(app, f"revoked {op.operation_id}", [op.scope])
    clients.revoke(found, revoked.id)
    refusals = {
        "missing": ({}, 401),
        "not bearer": ({"Authorization": f"Basic {holder.token}"}, 401),
        "malformed": ({"Authorization": "Bearer not-a-token"}, 401),
        "wrong": ({"Authorization": f"Bearer {holder.token[:-4]}AAAA"}, 401),
        "prefix only": ({"Authorization": f"Bearer {holder.token[:clients.PREFIX_LENGTH]}"}, 401),
        "revoked": (revoked.headers(), 401),
        "out of scope": (others.headers(), 403),
    }
    for name, (headers, status) in refusals.items():
        problem = is_problem(_call(holder, op, headers), status)
        assert holder.token not in str(problem), name
    # Refusals of a known client are audited with it as the actor; nothing else was done as it.
    assert [e.action for e in calls_of(found, revoked.id)][-1] == "api.refuse"
    refused = calls_of(found, others.id)
    assert [(e.action, e.outcome) for e in refused] == [("api.refuse", "denied")]
    assert op.operation_id in refused[-1].detail


@pytest.mark.parametrize("op", ENDPOINTS, ids=lambda op: op.operation_id)
def test_a_token_in_the_address_is_refused_and_never_logged(app: Flask, found: Services, op: Operation) -> None:
    holder = register(app, f"holder {op.operation_id}")
    for query in (f"?access_token={holder.token}", f"?x={holder.token}", "?token=anything"):
        problem = is_problem(_call(holder, op, holder.headers(), query), 400)
        assert "#/query" in {e["pointer"] for e in problem["errors"]}
    log = found.config.log_path
    assert log is None or not log.exists() or holder.token not in log.read_text()


def test_revoking_takes_effect_on_the_very_next_request(app: Flask, found: Services) -> None:
    holder = register(app, "soon revoked", ["alerts:read"])
    assert holder.get("/api/v1/alerts").status_code == 200
    clients.revoke(found, "soon revoked")
    is_problem(holder.get("/api/v1/alerts"), 401)


def test_the_document_and_its_page_are_open_to_anyone(app: Flask) -> None:
    anyone = app.test_client()
    assert anyone.get("/api/openapi.json").status_code == 200
    assert anyone.get("/api/docs").status_code == 200
