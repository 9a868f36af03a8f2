"""Hostile addresses: control characters in the path or the query of any public page, on GET and POST.

A link can be made to say anything: in ``/feedback/%0Ax?lang=en`` the path
arrives decoded, and a line feed put into the language switch's Location header
is refused by Werkzeug with a 500. Every such address must get a 4xx or a
harmless redirect (to this site, with nothing but the path asked for), never a
500 or a trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from casefeedback.policy.pages import public_endpoints
from tests.helpers import ServiceUser
from tests.receipts.receipt_holder import ReceiptHolder, give

HOSTILE = {
    "LF": "\n",
    "CR": "\r",
    "CRLF": "\r\n",
    "NUL": "\x00",
    "TAB": "\t",
    "DEL": "\x7f",
    "ESC": "\x1b",
    "NEL": "\x85",
    "U+2028": "\u2028",
    "U+2029": "\u2029",
    "header injection": "\r\nSet-Cookie: planted=1",
    "encoded CRLF": "%0D%0A",  # arrives decoded once, as the text "%0D%0A"
    "percent": "%",
    "slashes": "//evil.example/",
}
# A real value for each kind of path parameter, so the page behind the rule is really reached.
SAMPLE = {"service_id": "victim-support", "question_id": "treated", "section_id": "safety"}
PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def encoded(text: str) -> str:
    return quote(text, safe="")


def fill(rule: Rule, **override: str) -> str:
    """The rule's path with every parameter filled (``override``: already percent-encoded values)."""
    return PARAMETER.sub(lambda m: override.get(m.group(1), SAMPLE.get(m.group(1), "x")), rule.rule)


def public_rules(app: Flask) -> list[Rule]:
    public = public_endpoints(app)
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint in public), key=lambda r: (r.rule, r.endpoint))


def hostile_urls(rule: Rule) -> Iterator[str]:
    """Each control character in each path parameter, after the path, and in the query (``lang=`` too)."""
    for text in HOSTILE.values():
        bad = encoded(text)
        for path in [fill(rule, **{name: f"x{bad}x"}) for name in rule.arguments] + [fill(rule) + bad]:
            yield path
            yield path + "?lang=en"
        here = fill(rule)
        yield f"{here}?lang={bad}"
        yield f"{here}?change={bad}&lang=cy"
        yield f"{here}?{bad}=1&lang=en"


def problems(response: TestResponse, url: str, exits: frozenset[str] = frozenset()) -> list[str]:
    """What is wrong with the answer to a hostile ``url``: empty when it is harmless."""
    found = []
    body = response.get_data(as_text=True)
    # /health/ready answers 503 on purpose when a check fails (the tests run no worker, so none beats): for
    # a load balancer that is the answer "not ready", not an error.
    if response.status_code >= 500 and not (response.status_code == 503 and url.startswith("/health/ready")):
        found.append(f"{url!r}: {response.status_code}")
    if "Traceback" in body or 'File "' in body:
        found.append(f"{url!r}: traceback text in the page")
    location = response.headers.get("Location", "")
    if location and location not in exits:  # the quick exit leaves for the policy's own page
        target = location.removeprefix("http://localhost")
        if any(ch in location for ch in "\r\n\x00\t\x7f") or not target.startswith("/") or target.startswith("//"):
            found.append(f"{url!r}: redirected to {location!r}")
    if "planted" in " ".join(response.headers.getlist("Set-Cookie")):
        found.append(f"{url!r}: a header was injected")
    return found


def visit(client: FlaskClient, url: str, *, post: bool = True) -> list[str]:
    exits = frozenset(p.exit_url for p in client.application.extensions["casefeedback"].policies.services.values())
    found = problems(client.get(url), url, exits)
    if post:
        body = {"answer": "\r\n\x00", "csrf_token": "\r\n", "lang": "\n"}
        found += problems(client.post(url, data=body), url, exits)
    return found


@pytest.fixture
def clients(app: Flask) -> dict[str, FlaskClient]:
    """A stranger, someone part-way through the questions, and someone holding their receipt."""
    answering = app.test_client()
    ServiceUser(answering).consent("store")
    holding = app.test_client()
    code, _submission_id = give(holding, {"treated": "3"})
    assert ReceiptHolder(holding).check(code).status_code == 303
    return {"stranger": app.test_client(), "answering": answering, "holding": holding}


def test_the_reported_address_is_a_redirect_to_itself_encoded(client):
    response = client.get("/feedback/%0Ax?lang=en")
    assert response.status_code == 303 and response.headers["Location"] == "/feedback/%0Ax"
    assert client.get(response.headers["Location"]).status_code == 404
    assert client.get("/feedback/a%25b?lang=cy").headers["Location"] == "/feedback/a%25b"  # not "a%b"


def test_the_language_links_on_a_page_at_a_hostile_address_are_encoded(client):
    page = client.get("/feedback/victim-support/q/x%0D%0Ay").get_data(as_text=True)
    assert 'href="/feedback/victim-support/q/x%0D%0Ay?lang=cy"' in page
    assert "\r\ny?lang" not in page


def test_control_characters_anywhere_in_a_public_address_never_make_a_500(app, clients):
    rules = public_rules(app)
    # Every public page, including any added later: the list comes from the app itself.
    endpoints = {rule.endpoint for rule in rules}
    assert endpoints == set(public_endpoints(app))
    assert {"intake.start", "intake.question", "intake.leave", "receipts.overview", "static"} <= endpoints
    found = []
    for rule in rules:
        session = "holding" if rule.endpoint.startswith("receipts.") else "answering"
        for url in hostile_urls(rule):
            found += visit(clients[session], url)
            found += visit(clients["stranger"], url, post=False)  # a stranger's POST stops at the CSRF check
    assert not found, "\n".join(found[:20])


def test_control_characters_on_addresses_no_page_has_never_make_a_500(client):
    found = []
    for url in ("/", "/feedback", "/feedback/", "/static/x", "/health", "/staff/sign-in", "/staff/"):
        for text in HOSTILE.values():
            bad = encoded(text)
            for hostile in (f"{url}{bad}", f"{url}{bad}?lang=en", f"{url}?lang={bad}", f"{url}?next={bad}"):
                found += visit(client, hostile)
    assert not found, "\n".join(found[:20])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segment=st.text(min_size=1, max_size=12), lang=st.text(max_size=6),
       where=st.sampled_from(["", "/q/", "/section/", "/", "/i/"]))
def test_any_text_in_the_address_is_never_a_500(client, segment, lang, where):
    base = "/feedback/victim-support" if where in ("/q/", "/section/") else "/feedback"
    url = f"{base}{where}{encoded(segment)}?lang={encoded(lang)}"
    assert not visit(client, url)
