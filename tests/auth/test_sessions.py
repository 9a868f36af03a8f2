"""Session lifetimes from the organisation policy, the warning that keeps work, re-authentication, passwords."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace

import pytest
from sqlalchemy import select

from casefeedback import create_app
from casefeedback.auth.confirmation import safe_next
from casefeedback.storage.engine import read
from casefeedback.storage.tables import audit_events, staff_sessions
from tests.conftest import POLICIES, AuthActions, StaffFactory, csrf_token

WARNING = re.compile(r'id="session-warning"[^>]*data-seconds-left="(\d+)" data-warn-seconds="(\d+)"')


def timing(html: str) -> tuple[int, int]:
    match = WARNING.search(html)
    assert match, "no session warning on the page"
    return int(match.group(1)), int(match.group(2))


@pytest.fixture
def short_sessions(tmp_path, config, clock):
    """An app whose organisation policy says: 5 minutes idle, warn 1 minute before, 1 hour at most."""
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    (policies / "organisation.toml").write_text(
        '[staff_sessions]\nidle_timeout = "PT5M"\nidle_warning = "PT1M"\nabsolute_timeout = "PT1H"\n',
        encoding="utf-8")
    application = create_app(replace(config, policies_dir=policies), clock=clock)
    yield application
    application.extensions["casefeedback"].engine.dispose()


def test_the_page_carries_the_time_left_and_the_static_warning_script(client, staff_factory, auth, clock):
    _, username, password = staff_factory()
    auth.sign_in(username, password)
    page = client.get("/casework/").get_data(as_text=True)
    assert timing(page) == (15 * 60, 2 * 60)
    assert '<script src="/static/staff-session.js" defer></script>' in page
    assert "<script>" not in page  # no inline script anywhere (the CSP forbids it)
    script = client.get("/static/staff-session.js")
    assert script.status_code == 200 and b"session-warning" in script.get_data()
    script.close()
    clock.advance(minutes=5)
    assert timing(client.get("/casework/").get_data(as_text=True))[0] == 15 * 60


def test_timeouts_come_from_the_organisation_policy(short_sessions, clock):
    found = short_sessions.extensions["casefeedback"]
    client = short_sessions.test_client()
    auth = AuthActions(client)
    _, username, password = StaffFactory(found)()
    auth.sign_in(username, password)
    assert timing(client.get("/casework/").get_data(as_text=True)) == (5 * 60, 60)
    clock.advance(minutes=5, seconds=30)
    assert client.get("/casework/").status_code == 302


def test_staying_signed_in_keeps_the_session_without_leaving_the_page(client, staff_factory, auth, clock):
    _, username, password = staff_factory()
    auth.sign_in(username, password)
    page = client.get("/casework/").get_data(as_text=True)
    clock.advance(minutes=14)
    token = csrf_token(page)
    extended = client.post("/staff/session/extend", headers={"X-CSRFToken": token})
    assert extended.status_code == 200
    assert extended.get_json() == {"signed_in": True, "seconds_left": 15 * 60, "can_extend": True}
    clock.advance(minutes=14)
    assert client.get("/casework/").status_code == 200


def test_staying_signed_in_needs_the_csrf_token(client, staff_factory, auth):
    _, username, password = staff_factory()
    auth.sign_in(username, password)
    assert client.post("/staff/session/extend").status_code == 400


def test_the_absolute_timeout_ends_even_a_busy_session(client, staff_factory, auth, clock):
    _, username, password = staff_factory()
    auth.sign_in(username, password)
    for _ in range(8 * 6):  # a request every 10 minutes for 8 hours
        clock.advance(minutes=10)
        assert client.get("/casework/").status_code == 200
    clock.advance(minutes=1)
    assert client.get("/casework/").status_code == 302
    assert "signed in for a long time" in client.get("/staff/sign-in").get_data(as_text=True)


def test_near_the_absolute_timeout_the_warning_says_it_cannot_be_extended(client, staff_factory, auth, clock):
    _, username, password = staff_factory()
    auth.sign_in(username, password)
    for _ in range(47):
        clock.advance(minutes=10)
        client.get("/casework/")
    page = client.get("/casework/").get_data(as_text=True)
    assert 'data-can-extend="0"' in page and timing(page)[0] == 10 * 60


def test_confirm_sends_back_only_to_a_page_of_this_site(client, staff_factory, auth):
    _, username, password = staff_factory()
    auth.sign_in(username, password)
    page = client.get("/staff/confirm?next=/casework/alerts").get_data(as_text=True)
    from tests.conftest import next_code

    response = client.post("/staff/confirm?next=/casework/alerts",
                           data={"password": password, "code": next_code(auth.found, username),
                                 "csrf_token": csrf_token(page)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/casework/alerts")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        assert safe_next(target, "/fallback") == "/fallback"
    assert safe_next("/admin/staff/1?x=2", "/f") == "/admin/staff/1?x=2"


def test_confirm_with_a_wrong_password_or_code_is_refused_and_audited(client, staff_factory, auth, found):
    _, username, password = staff_factory()
    auth.sign_in(username, password)
    page = client.get("/staff/confirm").get_data(as_text=True)
    response = client.post("/staff/confirm", data={"password": "not-it-at-all", "code": "123456",
                                                   "csrf_token": csrf_token(page)})
    assert response.status_code == 401 and "not right" in response.get_data(as_text=True)
    with read(found.engine) as connection:
        event = connection.execute(select(audit_events).where(audit_events.c.action == "staff.reauthenticate")).one()
    assert event.outcome == "failure"


def test_changing_ones_password_signs_out_everywhere_else(app, client, staff_factory, auth, found):
    _, username, password = staff_factory()
    elsewhere = app.test_client()
    AuthActions(elsewhere).sign_in(username, password)
    auth.sign_in(username, password)
    page = client.get("/staff/account").get_data(as_text=True)
    response = client.post("/staff/account", data={"current": password, "new": "correct horse battery staple",
                                                   "repeat": "correct horse battery staple",
                                                   "csrf_token": csrf_token(page)})
    assert response.status_code == 303
    assert client.get("/casework/").status_code == 200  # this browser carries on, with a new session
    assert elsewhere.get("/casework/").status_code == 302
    with read(found.engine) as connection:
        assert len(connection.execute(select(staff_sessions)).all()) == 1
    auth.sign_out()
    assert auth.sign_in(username, password).status_code == 401
    assert auth.sign_in(username, "correct horse battery staple").status_code == 302


@pytest.mark.parametrize(("current", "new", "repeat", "status", "message"), [
    ("wrong-current-password", "correct horse battery staple", "correct horse battery staple", 401,
     "Your current password is not right"),
    (None, "short", "short", 400, "at least 12 characters"),
    (None, "correct horse battery staple", "correct horse battery stapler", 400, "are not the same"),
])
def test_bad_password_changes_are_refused_and_change_nothing(client, staff_factory, auth, current, new, repeat,
                                                             status, message):
    _, username, password = staff_factory()
    auth.sign_in(username, password)
    page = client.get("/staff/account").get_data(as_text=True)
    response = client.post("/staff/account", data={"current": current or password, "new": new, "repeat": repeat,
                                                   "csrf_token": csrf_token(page)})
    assert response.status_code == status and message in response.get_data(as_text=True)
    assert client.get("/casework/").status_code == 200
    auth.sign_out()
    assert auth.sign_in(username, password).status_code == 302
