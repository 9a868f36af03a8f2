"""Page access as declared in policy/pages.py: the public list is pinned, every role's pages are derived."""

from __future__ import annotations

import pytest
from flask import Flask

from casefeedback.policy import pages
from casefeedback.policy.roles import ROLES

# Adding a page anyone can reach without signing in is a decision to make on
# purpose: it changes this list, and a reviewer sees it.
PUBLIC = {
    "static", "health", "front.start", "front.give_feedback",
    "auth.sign_in", "auth.sign_in_code", "auth.sign_in_enrol",
    "intake.start", "intake.consent", "intake.questions", "intake.invitation", "intake.leave", "intake.question",
    "intake.section", "intake.check", "intake.send", "intake.save", "intake.resume", "intake.code",
    "intake.code_form", "intake.consent_page", "intake.staying_safe",
    "receipts.start", "receipts.ask", "receipts.check", "receipts.overview", "receipts.download", "receipts.printable",
    "receipts.add", "receipts.add_send", "receipts.contact", "receipts.withdraw_confirm", "receipts.withdraw_send",
    "receipts.forget",
    # The API's description and its page (the document lists no secrets).
    "api.openapi_document", "api.docs",
    # For load balancers and the scraper: names and numbers only; /metrics answers 404 without its token.
    "operations.live", "operations.ready", "operations.scrape",
}


def _api_operations(app: Flask) -> frozenset[str]:
    from casefeedback.api.operations import operation_for
    from casefeedback.policy.api_scopes import SCOPES

    # Open to the session gate because they never read the staff cookie, but each
    # one is an API operation behind the token gate with one declared scope.
    return frozenset(e for e in pages.public_endpoints(app) - PUBLIC
                     if (op := operation_for(e)) and op.scope in SCOPES)


def test_public_endpoints_are_exactly_the_declared_ones(app: Flask) -> None:
    assert pages.public_endpoints(app) - _api_operations(app) == PUBLIC
    assert _api_operations(app)  # the API is there, and every one of its operations is scoped


def test_no_staff_blueprint_has_a_public_page(app: Flask) -> None:
    for endpoint in pages.public_endpoints(app):
        assert endpoint.split(".", 1)[0] not in set(pages.BLUEPRINT_ROLES) - {"auth"}, endpoint


@pytest.mark.parametrize("role", ROLES)
def test_separation_of_duties_in_page_roles(role: str) -> None:
    may = {blueprint for blueprint in pages.BLUEPRINT_ROLES if pages.may_open(role, f"{blueprint}.anything")}
    assert "auth" in may  # every member of staff has their own account pages
    if role in ("administrator", "auditor", "analyst"):
        assert "casework" not in may and "alerts" not in may
    assert ("auditor" in may) == (role == "auditor")
    assert ("admin" in may) == (role == "administrator")


def test_endpoint_roles_override_the_blueprint() -> None:
    assert pages.may_open("administrator", "alerts.undelivered")
    assert not pages.may_open("caseworker", "alerts.undelivered")
    assert pages.may_open("duty_manager", "alerts.rota_page") and not pages.may_open("caseworker", "alerts.rota_page")
    assert pages.may_open("analyst", "insight.export") and not pages.may_open("supervisor", "insight.export")
    assert not pages.may_open("caseworker", "nowhere.page")  # deny by default
