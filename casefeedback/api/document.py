"""The OpenAPI 3.1 document, built from the declared operations (``operations.py``) — never written by hand.

Every operation gets the problems the gate may answer with (401, 403, 429, and
400/413/415 where it takes input), so a client, and schemathesis, know every
status it can meet.
"""

from __future__ import annotations

from typing import Any

from casefeedback.api.operations import OPERATIONS, Operation
from casefeedback.api.problems import MEDIA_TYPE, TITLES
from casefeedback.policy.api_scopes import SCOPES

VERSION = "1.0.0"
PROBLEM: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details. `errors` names each field at fault by a JSON Pointer "
                   "(`#/query/<name>` for a query parameter).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "required": ["pointer", "detail"], "properties": {
            "pointer": {"type": "string"}, "detail": {"type": "string"}}}},
    },
}
TAGS = [("Cases", "Create and close cases, choose deputies"), ("Invitations", "Links, short codes and QR codes"),
        ("Feedback", "Feedback from other channels"), ("Alerts", "Alert states and acknowledgement"),
        ("Insight", "De-identified, suppressed figures")]


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _parameters(op: Operation) -> list[dict[str, Any]]:
    found = [{"name": n, "in": "path", "required": True, "schema": s} for n, s in op.path_params.items()]
    return found + [{"name": n, "in": "query", "required": False, "schema": s} for n, s in op.query.items()]


def _responses(op: Operation) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for status, (description, schema) in sorted(op.responses.items()):
        answers[str(status)] = {"description": description} | (
            {"content": {op.media_type: {"schema": schema}}} if schema is not None else {})
    gate = {401: "No token, or a malformed, unknown or revoked one", 403: f"The token lacks the scope {op.scope}",
            429: "Too many requests from this client", 400: "An input outside the schema; or a token in the URL"}
    if op.body is not None:
        gate |= {413: "The body is too large", 415: "The body is not JSON"}
    if op.path_params:
        gate |= {404: "Nothing at this address"}
    for status, description in sorted((gate | dict(op.problems)).items()):
        answers[str(status)] = _problem(description or TITLES.get(status, ""))
    return answers


def _operation(op: Operation) -> dict[str, Any]:
    described: dict[str, Any] = {
        "operationId": op.operation_id, "summary": op.summary, "tags": [op.tag],
        "security": [{"bearer": [op.scope]}], "x-scope": op.scope,
        "description": (op.description + "\n\n" if op.description else "") + f"Needs the scope `{op.scope}`.",
        "responses": _responses(op)}
    if _parameters(op):
        described["parameters"] = _parameters(op)
    if op.body is not None:
        described["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
    return described


def openapi(server: str = "/") -> dict[str, Any]:
    """The whole document. ``server``: the base URL clients call (this instance's own)."""
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(OPERATIONS.values(), key=lambda o: o.path):
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    scopes = "\n".join(f"- `{name}`: {words}" for name, words in SCOPES.items())
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": "casefeedback API", "version": VERSION,
                 "description": "For other systems: a case-management system, another feedback channel, a duty "
                                "system, a partner. An administrator registers each client with the scopes it "
                                "needs and gives it a bearer token. The API never returns what a person wrote."
                                f"\n\nScopes:\n{scopes}"},
        "servers": [{"url": server}],
        "tags": [{"name": name, "description": words} for name, words in TAGS],
        "paths": paths,
        "components": {
            "schemas": {"Problem": PROBLEM},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "Authorization: Bearer cfk_… (never in the URL)"}},
        },
    }
