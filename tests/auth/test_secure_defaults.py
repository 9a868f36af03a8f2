"""Secure by default: cookies, HSTS, CSRF on every staff form, no-store and a strict CSP on every staff page."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask

from casefeedback import create_app
from casefeedback.policy.pages import public_endpoints
from tests.conftest import AuthActions, StaffFactory, csrf_token


@pytest.fixture
def secure_app(config, clock):
    """As in production: Secure cookies with the __Host- prefix, HTTPS only, HSTS."""
    application = create_app(replace(config, secure_cookies=True), clock=clock)
    yield application
    application.extensions["casefeedback"].engine.dispose()


def set_cookie_headers(response) -> list[str]:
    """The session cookie's Set-Cookie headers (Flask-Login may also expire an unused remember-me cookie)."""
    return [value for name, value in response.headers.items()
            if name.lower() == "set-cookie" and "casefeedback=" in value]


def test_production_cookie_is_host_prefixed_secure_httponly_strict(secure_app):
    client = secure_app.test_client()
    page = client.get("/staff/sign-in", base_url="https://localhost")
    found = secure_app.extensions["casefeedback"]
    _, username, password = StaffFactory(found)()
    response = client.post("/staff/sign-in", base_url="https://localhost",
                           data={"username": username, "password": password,
                                 "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 303, "a form posted over HTTPS must work (no Referer is ever sent)"
    (header,) = set_cookie_headers(response)
    assert header.startswith("__Host-casefeedback=")
    parts = {p.strip().split("=")[0].lower() for p in header.split(";")}
    assert {"secure", "httponly", "path", "samesite"} <= parts and "domain" not in parts
    assert "SameSite=Strict" in header and "Path=/" in header


def test_production_sends_hsts_and_redirects_plain_http(secure_app):
    client = secure_app.test_client()
    response = client.get("/staff/sign-in", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=63072000")
    plain = client.get("/staff/sign-in", base_url="http://localhost")
    assert plain.status_code in (301, 302) and plain.headers["Location"].startswith("https://")


def test_development_exception_plain_http_localhost(client):
    """Documented in SECURITY.md: without CASEFEEDBACK_SECURE_COOKIES the cookie has no Secure flag and no
    __Host- prefix (the prefix demands Secure), so plain-HTTP localhost works; it stays HttpOnly and Strict."""
    response = client.get("/staff/sign-in")
    (header,) = set_cookie_headers(response)
    assert header.startswith("casefeedback=") and "Secure" not in header
    assert "HttpOnly" in header and "SameSite=Strict" in header
    assert "Strict-Transport-Security" not in response.headers


def staff_rules(app: Flask) -> list[tuple[str, str, set[str]]]:
    """(endpoint, rule, methods) for every non-public, non-static route."""
    return [(rule.endpoint, rule.rule, set(rule.methods or ()) - {"HEAD", "OPTIONS"})
            for rule in app.url_map.iter_rules()
            if rule.endpoint not in public_endpoints(app)]


def fill(rule: str) -> str:
    for name in ("case_id", "submission_id", "staff_id", "invitation_id", "kind", "token", "code"):
        rule = rule.replace(f"<{name}>", "x")
    return rule


def test_every_staff_form_needs_its_csrf_token(app, client, staff_factory):
    _, username, password = staff_factory("supervisor")
    AuthActions(client).sign_in(username, password)
    posts = [(e, fill(r)) for e, r, m in staff_rules(app) if "POST" in m and "<" not in fill(r)]
    assert len(posts) >= 10
    for endpoint, path in posts:
        response = client.post(path, data={"anything": "x"})
        assert response.status_code == 400, endpoint
        assert "This form has expired" in response.get_data(as_text=True), endpoint


def test_every_staff_page_is_no_store_with_a_strict_csp(app, client, staff_factory):
    _, username, password = staff_factory("supervisor")
    AuthActions(client).sign_in(username, password)
    gets = [(e, fill(r)) for e, r, m in staff_rules(app) if "GET" in m and "<" not in fill(r)]
    for endpoint, path in gets:
        response = client.get(path)
        assert response.headers["Cache-Control"].startswith("no-store"), endpoint
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
        assert response.status_code < 500, endpoint
