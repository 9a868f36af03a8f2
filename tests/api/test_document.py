"""The served document and the routes agree, both ways; its schemas are valid; its page shows every operation."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from casefeedback.api.operations import OPERATIONS
from casefeedback.policy.api_scopes import SCOPES

METHODS = {"get", "put", "post", "delete", "patch"}


def _routes(app: Flask) -> dict[str, set[str]]:
    """Every /api/v1 route as the document would write it, with its methods."""
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
            found.setdefault(path, set()).update(m.lower() for m in rule.methods or () if m.lower() in METHODS)
    return found


def test_every_route_is_in_the_document_and_every_documented_route_exists(app: Flask, client: FlaskClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    documented = {path: {m for m in item if m in METHODS} for path, item in document["paths"].items()}
    assert documented == _routes(app)
    assert len(documented) >= 8


def test_every_operation_needs_a_known_scope_and_answers_problems(client: FlaskClient) -> None:
    document = client.get("/api/openapi.json").get_json()
    ids = []
    for item in document["paths"].values():
        for described in item.values():
            ids.append(described["operationId"])
            (requirement,) = described["security"]
            assert set(requirement) == {"bearer"} and len(requirement["bearer"]) == 1
            assert requirement["bearer"][0] in SCOPES
            for status in ("400", "401", "403", "429"):
                assert "application/problem+json" in described["responses"][status]["content"]
    assert len(ids) == len(set(ids)) == len(OPERATIONS)
    assert {scope for op in OPERATIONS.values() for scope in [op.scope]} == set(SCOPES)  # every scope is used


def test_every_schema_in_the_document_is_valid_json_schema(client: FlaskClient) -> None:
    document = client.get("/api/openapi.json").get_json()
    schemas = [document["components"]["schemas"]["Problem"]]
    for item in document["paths"].values():
        for described in item.values():
            if "requestBody" in described:
                schemas.append(described["requestBody"]["content"]["application/json"]["schema"])
            schemas += [p["schema"] for p in described.get("parameters", [])]
            schemas += [c["schema"] for r in described["responses"].values() for c in r.get("content", {}).values()
                        if "$ref" not in c["schema"]]
    for schema in schemas:
        Draft202012Validator.check_schema(schema)


def test_the_documentation_page_shows_every_operation_without_outside_scripts(client: FlaskClient) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for op in OPERATIONS.values():
        assert f'id="{op.operation_id}"' in page and op.path in page
    for scope in SCOPES:
        assert scope in page
    assert "<script" not in page.split("</main>")[0].split("<main")[1]
    assert "https://" not in re.sub(r'href="https?://[^"]*"', "", page)  # nothing loaded from elsewhere
