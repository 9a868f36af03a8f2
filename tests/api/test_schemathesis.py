"""Property-based tests generated from the served document (schemathesis): every operation, with a token holding
every scope, answers no server error and only responses its schema describes — status, media type and body.

Small and derandomized, so the run takes well under two minutes and fails the same way twice; the access matrix
and the use-case tests cover what random data cannot reach (real staff, cases and alerts). The operations are
driven through schemathesis's own strategies rather than its pytest plugin's lazy fixture loader, which does not
yet work with pytest 9.
"""

from __future__ import annotations

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from casefeedback.api import clients, views
from casefeedback.api.operations import OPERATIONS
from tests.api.support import EVERY_SCOPE

assert views.bp  # importing the views declares every operation, before the parameters below are read
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


@pytest.mark.slow
@pytest.mark.parametrize(("path", "method"), sorted((op.path, op.method) for op in OPERATIONS.values()))
def test_api_answers_no_server_error_and_only_documented_responses(app: Flask, path: str, method: str) -> None:
    app.config["CASEFEEDBACK_API_LIMIT"] = "100000 per minute"  # the limit has its own test
    token = clients.register(app.extensions["casefeedback"], "schemathesis", EVERY_SCOPE).token
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=20, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def responds_as_documented(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    responds_as_documented()
