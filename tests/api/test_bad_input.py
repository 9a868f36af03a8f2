"""Bad input: every input outside the schema a 4xx problem naming the field, an oversized body 413, a body that is
not JSON 415, unknown ids 404 — and nothing half-written."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from casefeedback.api.blueprint import MAX_BODY
from casefeedback.services import Services
from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events, cases, submissions
from tests.api.support import Caller, is_problem, pointers
from tests.conftest import StaffFactory


def _rows(found: Services) -> tuple[int, int]:
    with read(found.engine) as connection:
        return (int(connection.execute(select(func.count()).select_from(cases)).scalar_one()),
                int(connection.execute(select(func.count()).select_from(submissions)).scalar_one()))


def test_every_field_outside_the_schema_is_named(found: Services, caller: Caller,
                                                 staff_factory: StaffFactory) -> None:
    _, owner, _ = staff_factory()
    cases_wanted: list[tuple[dict[str, Any], set[str]]] = [
        ({}, {"/owner", "/service_id", "/reference"}),
        ({"owner": owner, "service_id": "victim-support", "reference": 7}, {"/reference"}),
        ({"owner": owner, "service_id": "victim-support", "reference": "x" * 65}, {"/reference"}),
        ({"owner": owner, "service_id": "victim-support", "reference": "R", "colour": "red"}, {"/colour"}),
        ({"owner": ["a"], "service_id": None, "reference": "R"}, {"/owner", "/service_id"}),
    ]
    for body, named in cases_wanted:
        problem = is_problem(caller.post("/api/v1/cases", body), 400)
        assert pointers(problem) == named and len(problem["errors"]) == len(named), body
        assert "x" * 65 not in str(problem)
    assert pointers(is_problem(caller.post("/api/v1/cases", ["a list"]), 400)) == {"/"}
    assert _rows(found) == (0, 0)


def test_not_json_oversized_and_unknown_ids(found: Services, caller: Caller, staff_factory: StaffFactory) -> None:
    _, owner, _ = staff_factory()
    is_problem(caller.client.post("/api/v1/cases", headers=caller.headers(), data="owner=x",
                                  content_type="application/x-www-form-urlencoded"), 415)
    assert pointers(is_problem(caller.client.post("/api/v1/cases", headers=caller.headers(), data="{not json",
                                                  content_type="application/json"), 400)) == {"/"}
    huge = {"owner": owner, "service_id": "victim-support", "reference": "R", "padding": "x" * MAX_BODY}
    is_problem(caller.post("/api/v1/cases", huge), 413)
    is_problem(caller.post("/api/v1/cases/not a real id!/close", {"on_behalf_of": owner}), 404)
    is_problem(caller.post("/api/v1/cases/0f0f/close", {"on_behalf_of": owner}), 404)
    is_problem(caller.get("/api/v1/no-such-thing"), 404)
    is_problem(caller.client.delete("/api/v1/alerts", headers=caller.headers()), 405)
    is_problem(caller.client.get("/api/v1/alerts", headers=caller.headers(), data="{}",
                                 content_type="application/json"), 400)
    assert _rows(found) == (0, 0)
    with read(found.engine) as connection:
        assert not connection.execute(select(audit_events).where(audit_events.c.action == "case.create")).first()


def test_too_many_requests_from_one_client_is_a_problem_too(app: Flask, caller: Caller) -> None:
    app.config["CASEFEEDBACK_API_LIMIT"] = "3 per minute"
    for _ in range(3):
        assert caller.get("/api/v1/alerts").status_code == 200
    is_problem(caller.get("/api/v1/alerts"), 429)
